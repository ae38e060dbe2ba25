//! The host side of putting new TLS files in place, as sh scripts run as root in one SSH
//! session each: stage the new files beside the old (`<path>.mbundle-new`, sha256 checked),
//! keep the old as `<path>.mbundle-backup` (never overwriting a backup an earlier run kept),
//! turn live-restore on for a moment, swap and restart, or put the backups back. Every path
//! comes from the probe (checked absolute and plain) and is quoted for the shell; file
//! contents travel in here-documents whose delimiter they cannot contain.

use crate::text::shell_word;

use super::probe::Service;

/// What a staged file is: where, its bytes, its mode.
pub struct NewFile<'a> {
    /// Its path on the host.
    pub path: &'a str,
    /// Its content (PEM: base64 lines and `-----` lines).
    pub bytes: &'a [u8],
    /// Its sha256, checked on the host.
    pub sha256: &'a str,
    /// Its mode (`600` for a key).
    pub mode: &'a str,
}

/// A here-document delimiter `text` does not contain as a line.
fn delimiter(text: &str) -> String {
    let mut d = "MBUNDLE_END_OF_FILE".to_string();
    while text.lines().any(|l| l == d) {
        d.push('X');
    }
    d
}

/// Writes each file to `<path>.mbundle-new` and checks its sha256; keeps the current file as
/// `<path>.mbundle-backup` unless a backup is there already. With `daemon_json` (its path and
/// new bytes), keeps the current one (`.mbundle-backup`, or `.mbundle-absent` when there was
/// none), writes the new one and sends SIGHUP to the daemon `pid` so it reads it.
pub fn stage(files: &[NewFile<'_>], daemon_json: Option<(&str, &[u8])>, pid: u32) -> String {
    let mut s = String::from("set -e\numask 077\n");
    for f in files {
        let p = shell_word(f.path);
        let text = String::from_utf8_lossy(f.bytes);
        let d = delimiter(&text);
        s.push_str(&format!(
            "cat > {p}.mbundle-new <<'{d}'\n{text}{nl}{d}\n",
            nl = if text.ends_with('\n') { "" } else { "\n" }
        ));
        s.push_str(&format!(
            "[ \"$(sha256sum < {p}.mbundle-new | cut -d ' ' -f 1)\" = {sha} ] || {{ echo 'staged file differs: {path}' >&2; exit 3; }}\nchmod {mode} {p}.mbundle-new\n[ -e {p}.mbundle-backup ] || [ ! -e {p} ] || cp -p {p} {p}.mbundle-backup\n",
            sha = shell_word(f.sha256),
            path = f.path.replace('\'', ""),
            mode = f.mode
        ));
    }
    if let Some((path, bytes)) = daemon_json {
        let p = shell_word(path);
        let text = String::from_utf8_lossy(bytes);
        let d = delimiter(&text);
        s.push_str(&format!(
            "if [ ! -e {p}.mbundle-backup ] && [ ! -e {p}.mbundle-absent ]; then if [ -e {p} ]; then cp -p {p} {p}.mbundle-backup; else : > {p}.mbundle-absent; fi; fi\nmkdir -p \"$(dirname {p})\"\ncat > {p}.mbundle-new <<'{d}'\n{text}\n{d}\nchmod 644 {p}.mbundle-new\nmv -f {p}.mbundle-new {p}\nkill -HUP {pid}\n"
        ));
    }
    s.push_str("echo staged\n");
    s
}

/// The command that restarts docker under `service`; `None` for a layout mbundle does not know.
pub fn restart_command(service: Service) -> Option<&'static str> {
    match service {
        Service::Systemd => Some("systemctl daemon-reload; systemctl -f restart docker"),
        Service::Boot2docker => Some("/etc/init.d/docker restart"),
        Service::Upstart => Some("service docker restart"),
        Service::Rancheros => Some("system-docker restart docker"),
        Service::Unknown => None,
    }
}

/// The command that starts a stopped docker under `service`.
pub fn start_command(service: Service) -> Option<&'static str> {
    match service {
        Service::Systemd => Some("systemctl start docker"),
        Service::Boot2docker => Some("/etc/init.d/docker start"),
        Service::Upstart => Some("service docker start"),
        Service::Rancheros => Some("system-docker start docker"),
        Service::Unknown => None,
    }
}

/// Moves each staged file into place, then restarts docker.
pub fn swap(paths: &[&str], restart: &str) -> String {
    let mut s = String::from("set -e\n");
    for p in paths {
        let p = shell_word(p);
        s.push_str(&format!("mv -f {p}.mbundle-new {p}\n"));
    }
    s.push_str(restart);
    s.push_str("\necho swapped\n");
    s
}

/// Puts each backup back in place (the backups stay), then restarts docker.
pub fn roll_back(paths: &[&str], restart: &str) -> String {
    let mut s = String::new();
    for p in paths {
        let p = shell_word(p);
        s.push_str(&format!(
            "if [ -e {p}.mbundle-backup ]; then cp -p {p}.mbundle-backup {p}; fi\nrm -f {p}.mbundle-new\n"
        ));
    }
    s.push_str(restart);
    s.push_str("\necho rolled-back\n");
    s
}

/// Puts daemon.json back byte for byte (or removes it when there was none); the daemon keeps
/// live-restore until its next start, which is all the restart needed.
pub fn restore_daemon_json(path: &str) -> String {
    let p = shell_word(path);
    format!(
        "set -e\nif [ -e {p}.mbundle-backup ]; then mv -f {p}.mbundle-backup {p}; elif [ -e {p}.mbundle-absent ]; then rm -f {p} {p}.mbundle-absent; fi\necho restored\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_quote_paths_and_keep_contents_whole() {
        let pem =
            b"-----BEGIN CERTIFICATE-----\nMIIB\nMBUNDLE_END_OF_FILE\n-----END CERTIFICATE-----\n";
        let s = stage(
            &[NewFile {
                path: "/etc/docker/server.pem",
                bytes: pem,
                sha256: "ab",
                mode: "644",
            }],
            Some(("/etc/docker/daemon.json", b"{\"live-restore\": true}")),
            42,
        );
        assert!(s.contains("<<'MBUNDLE_END_OF_FILEX'"), "{s}");
        assert!(s.contains("kill -HUP 42"));
        assert!(s.contains("cp -p /etc/docker/server.pem /etc/docker/server.pem.mbundle-backup"));
        let sw = swap(&["/etc/my docker/ca.pem"], "systemctl restart docker");
        assert!(
            sw.contains("mv -f '/etc/my docker/ca.pem'.mbundle-new '/etc/my docker/ca.pem'"),
            "{sw}"
        );
        assert_eq!(restart_command(Service::Unknown), None);
    }
}
