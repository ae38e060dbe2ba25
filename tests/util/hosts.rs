//! Docker hosts for tests, on this machine: each host a network namespace with its own
//! OpenSSH `sshd` on port 22 and Debian's `dockerd` with mutual TLS on 2376, laid out as
//! docker-machine's systemd provisioner leaves a host (`/etc/docker/{ca,server,server-key}.pem`,
//! the drop-in `/etc/systemd/system/docker.service.d/10-machine.conf` whose `ExecStart=` runs
//! dockerd), each running a container. The test (and the code under test) reach them from a
//! client namespace holding a bridge on 203.0.113.0/24 (TEST-NET-3, no route out).
//!
//! How (../shared/reference/test-hosts.md): a host is `nsenter --net=<its netns> unshare -m
//! --pid --fork --mount-proc sh <init>`; in its private mount namespace `/etc/docker`,
//! `/etc/systemd/system` and `/usr/local/sbin` (where sudo's secure_path finds a small
//! `systemctl` that runs the drop-in's `ExecStart=`) are bind mounts of per-host directories,
//! and `/proc` shows only its own dockerd. Its init starts docker, a container, then execs
//! sshd in the foreground. Dropped, a fleet SIGKILLs each namespace's init (the kernel ends
//! every process in it) and deletes its network namespaces.
//!
//! Needs root, `sshd` (openssh-server), `sudo`, `busybox` (busybox-static), `ip`, `dockerd`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::gen;

/// Test fleets made by this process so far (namespace names must be unique).
static FLEETS: AtomicUsize = AtomicUsize::new(0);

/// How docker-machine provisioned a host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// The systemd provisioner (Ubuntu, Debian, CentOS...): TLS files in `/etc/docker`, the
    /// drop-in `10-machine.conf`, `systemctl restart docker`.
    Systemd,
    /// boot2docker (the local VM drivers' ISO): TLS files and `profile` in
    /// `/var/lib/boot2docker`, `/etc/init.d/docker restart`, `--tlscert=` flags.
    Boot2docker,
}

/// One test host.
pub struct Host {
    /// The machine's name in the store.
    pub name: String,
    /// Its address on the test network.
    pub ip: String,
    /// Its network namespace.
    pub netns: String,
    /// Its own files: `etc-docker/`, `systemd/`, `sbin/`, `ssh/`, `state/`.
    pub root: PathBuf,
    /// Its SSH host public key (`ssh-ed25519 AAAA...`).
    pub host_key: String,
    /// How it was provisioned.
    pub layout: Layout,
    unshare: Option<Child>,
}

impl Host {
    /// dockerd's state (sockets, data root, logs) and the stand-in systemctl's files.
    pub fn state(&self) -> PathBuf {
        self.root.join("state")
    }

    /// The host's `/etc/docker` (daemon.json; the TLS files too on a systemd host), seen
    /// from outside.
    pub fn etc_docker(&self) -> PathBuf {
        self.root.join("etc-docker")
    }

    /// Where the daemon's TLS files are: `/etc/docker`, or boot2docker's
    /// `/var/lib/boot2docker`, seen from outside.
    pub fn tls_dir(&self) -> PathBuf {
        match self.layout {
            Layout::Systemd => self.etc_docker(),
            Layout::Boot2docker => self.root.join("boot2docker"),
        }
    }

    /// The SHA256 fingerprint of the host key the host was made with.
    pub fn host_key_fingerprint(&self) -> String {
        let f = self.root.join("original_host_key.pub");
        fs::write(&f, format!("{}\n", self.host_key)).unwrap();
        let out = Command::new("ssh-keygen")
            .arg("-lf")
            .arg(&f)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_string()
    }

    /// Makes the next `systemctl start docker` on the host fail (once).
    pub fn fail_next_start(&self) {
        fs::write(self.state().join("fail-next-start"), "").unwrap();
    }

    /// Makes the next `systemctl start docker` on the host wait 2 s first (once), with the
    /// file `starting` in its state directory while it waits: a restart caught mid-way.
    pub fn slow_next_start(&self) {
        let _ = fs::remove_file(self.state().join("starting"));
        fs::write(self.state().join("slow-next-start"), "").unwrap();
    }

    /// Runs the docker CLI on the host's own unix socket (no TLS: the test's view).
    pub fn docker(&self, args: &[&str]) -> std::process::Output {
        let sock = format!("unix://{}", self.state().join("docker.sock").display());
        Command::new("docker")
            .args(["-H", &sock])
            .args(args)
            .output()
            .unwrap()
    }
}

/// Hosts, a client namespace, and a store whose machines are those hosts.
pub struct Fleet {
    /// Where everything of this fleet lives.
    pub dir: PathBuf,
    /// The client namespace: run mbundle, ssh and docker there ([`Fleet::in_client`]).
    pub client: String,
    /// The hosts, in order.
    pub hosts: Vec<Host>,
    /// The machine store (`certs/`, `machines/<name>/` with the real SSH key as `id_rsa`).
    pub store: PathBuf,
}

/// Whether this machine can run test hosts; says why not (or panics under
/// MBUNDLE_REQUIRE_PEERS).
pub fn can_run_hosts() -> bool {
    if !crate::e2e::can_run_dockerd() {
        return false;
    }
    [
        "sshd",
        "sudo",
        "busybox",
        "ip",
        "nsenter",
        "unshare",
        "ssh",
        "ssh-keygen",
    ]
    .iter()
    .all(|p| super::peer(p).is_some() || Path::new("/usr/sbin").join(p).is_file())
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn ip(args: &[&str]) {
    run(Command::new("ip").args(args));
}

/// A tar of a root file system holding busybox and the links a container needs.
fn busybox_image(dir: &Path) -> PathBuf {
    let root = dir.join("image-root");
    fs::create_dir_all(root.join("bin")).unwrap();
    fs::copy("/bin/busybox", root.join("bin/busybox")).unwrap();
    for l in ["sh", "sleep"] {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(l)).unwrap();
    }
    let tar = dir.join("busybox.tar");
    run(Command::new("tar")
        .arg("-C")
        .arg(&root)
        .arg("-cf")
        .arg(&tar)
        .arg("."));
    tar
}

/// The stand-in for systemctl on a host: start/stop/restart/reload/is-active/daemon-reload of
/// the docker unit, by running the drop-in's last `ExecStart=`; `state/fail-next-start` makes
/// the next start fail.
/// boot2docker's login user: `docker` (uid 4242 here), passwordless sudo. Files for the
/// host's namespace (passwd and group with the user added, a sudoers.d), and the mounts that
/// put them in place there.
fn docker_user(root: &Path) -> String {
    use std::os::unix::fs::PermissionsExt;
    let add = |from: &str, line: &str| {
        let mut text = fs::read_to_string(from).unwrap();
        text.push_str(line);
        let to = root.join(Path::new(from).file_name().unwrap());
        fs::write(&to, text).unwrap();
        to
    };
    let passwd = add(
        "/etc/passwd",
        "docker:x:4242:4242:boot2docker:/tmp:/bin/sh\n",
    );
    let group = add("/etc/group", "docker-b2d:x:4242:\n");
    // sudo's PAM account check wants a shadow entry: no password, not locked, not expired.
    // Only these two entries: this machine's password hashes are not copied anywhere.
    let shadow = root.join("shadow");
    fs::write(
        &shadow,
        "root:*:19000:0:99999:7:::\ndocker:*:19000:0:99999:7:::\n",
    )
    .unwrap();
    fs::set_permissions(&shadow, fs::Permissions::from_mode(0o600)).unwrap();
    let sudoers = root.join("sudoers.d");
    fs::create_dir_all(&sudoers).unwrap();
    fs::write(sudoers.join("docker"), "docker ALL=(ALL) NOPASSWD: ALL\n").unwrap();
    fs::set_permissions(sudoers.join("docker"), fs::Permissions::from_mode(0o440)).unwrap();
    format!(
        "mount --bind {} /etc/passwd\nmount --bind {} /etc/group\nmount --bind {} /etc/shadow\nmount --bind {} /etc/sudoers.d\n",
        passwd.display(),
        group.display(),
        shadow.display(),
        sudoers.display()
    )
}

/// The command line the service starts dockerd with: the systemd drop-in's `ExecStart=`, or
/// what boot2docker's init script makes of its profile.
const SYSTEMD_LINE: &str =
    "line=$(grep '^ExecStart=.' /etc/systemd/system/docker.service.d/10-machine.conf | tail -n 1 | sed 's/^ExecStart=//')";
const BOOT2DOCKER_LINE: &str = ". /var/lib/boot2docker/profile\n  line=$(printf '%s' \"/usr/sbin/dockerd $DOCKER_HOST -s $DOCKER_STORAGE $EXTRA_ARGS --tlsverify --tlscacert=$CACERT --tlscert=$SERVERCERT --tlskey=$SERVERKEY\" | tr '\\n' ' ')";

/// `systemctl` (systemd layout) or `/etc/init.d/docker` (boot2docker), as far as
/// docker-machine and mbundle use them.
fn service_script(state: &Path, layout: Layout) -> String {
    let (what, line) = match layout {
        Layout::Systemd => (
            "systemctl, as far as a docker-machine host's docker unit needs it",
            SYSTEMD_LINE,
        ),
        Layout::Boot2docker => ("boot2docker's /etc/init.d/docker", BOOT2DOCKER_LINE),
    };
    format!(
        r#"#!/bin/sh
# {what} (test stand-in)
S='{state}'
cmd=""
for a in "$@"; do case "$a" in -*) ;; *) [ -z "$cmd" ] && cmd=$a ;; esac; done
pid() {{ cat "$S/dockerd.shim.pid" 2>/dev/null; }}
alive() {{ p=$(pid); [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }}
start() {{
  alive && return 0
  if [ -e "$S/fail-next-start" ]; then rm -f "$S/fail-next-start"; echo "Job for docker.service failed" >&2; return 1; fi
  if [ -e "$S/slow-next-start" ]; then rm -f "$S/slow-next-start"; : > "$S/starting"; sleep 2; fi
  {line}
  sh -c "exec $line" >>"$S/dockerd.log" 2>&1 &
  echo $! > "$S/dockerd.shim.pid"
  i=0
  while [ $i -lt 300 ]; do
    alive || {{ echo "docker.service: dockerd exited" >&2; return 1; }}
    docker -H "unix://$S/docker.sock" version >/dev/null 2>&1 && return 0
    sleep 0.1; i=$((i+1))
  done
  return 1
}}
stop() {{
  p=$(pid); [ -n "$p" ] || return 0
  kill "$p" 2>/dev/null
  i=0; while kill -0 "$p" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done
  kill -9 "$p" 2>/dev/null; rm -f "$S/dockerd.shim.pid"; return 0
}}
case "$cmd" in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  reload) p=$(pid); [ -n "$p" ] && kill -HUP "$p" ;;
  is-active|status) if alive; then echo active; else echo inactive; exit 3; fi ;;
  daemon-reload) ;;
  *) echo "(test stand-in): $cmd is not supported" >&2; exit 1 ;;
esac
"#,
        state = state.display()
    )
}

impl Fleet {
    /// Starts `n` hosts `host-0`.. with certificates from a CA that ends at `ca_not_after`
    /// and server certificates ending at `server_not_after`; the store's machines are those
    /// hosts (generic driver, user root, the real SSH key).
    pub fn start(
        dir: &Path,
        n: usize,
        ca_not_after: time::OffsetDateTime,
        server_not_after: time::OffsetDateTime,
    ) -> Fleet {
        let names: Vec<String> = (0..n).map(|i| format!("host-{i}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        Fleet::start_named(dir, &names, ca_not_after, server_not_after)
    }

    /// As [`Fleet::start`], the machines named `names`; the client certificate ends with the CA.
    pub fn start_named(
        dir: &Path,
        names: &[&str],
        ca_not_after: time::OffsetDateTime,
        server_not_after: time::OffsetDateTime,
    ) -> Fleet {
        let hosts: Vec<(&str, Layout)> = names.iter().map(|n| (*n, Layout::Systemd)).collect();
        Fleet::start_laid_out(dir, &hosts, ca_not_after, server_not_after)
    }

    /// As [`Fleet::start_named`], each host laid out as its [`Layout`] says.
    pub fn start_laid_out(
        dir: &Path,
        hosts: &[(&str, Layout)],
        ca_not_after: time::OffsetDateTime,
        server_not_after: time::OffsetDateTime,
    ) -> Fleet {
        let dir = dir.join("fleet");
        fs::create_dir_all(&dir).unwrap();
        let k = FLEETS.fetch_add(1, Ordering::SeqCst);
        let tag = format!("mbt{}x{k}", std::process::id());
        let client = format!("{tag}c");
        let store = dir.join("store");
        let ca = gen::Ca::new("fleet", ca_not_after);
        gen::write_certs(&store, &ca, ca_not_after);
        // The client namespace: a bridge, no route out.
        ip(&["netns", "add", &client]);
        let mut fleet = Fleet {
            dir: dir.clone(),
            client: client.clone(),
            hosts: Vec::new(),
            store: store.clone(),
        };
        fleet.in_client_ok(&["ip", "link", "set", "lo", "up"]);
        fleet.in_client_ok(&["ip", "link", "add", "br0", "type", "bridge"]);
        fleet.in_client_ok(&["ip", "addr", "add", "203.0.113.1/24", "dev", "br0"]);
        fleet.in_client_ok(&["ip", "link", "set", "br0", "up"]);
        let client_key = dir.join("id_ed25519");
        run(Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "mbundle-test", "-f"])
            .arg(&client_key));
        let image = busybox_image(&dir);
        for (i, (name, layout)) in hosts.iter().enumerate() {
            let ip_addr = format!("203.0.113.{}", 10 + i);
            let mdir = gen::add_machine(&store, &ca, name, &ip_addr, 2376, server_not_after);
            if *layout == Layout::Boot2docker {
                // docker-machine reaches a boot2docker host as `docker`, root through sudo.
                let path = mdir.join("config.json");
                let mut config: serde_json::Value =
                    serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
                config["Driver"]["SSHUser"] = "docker".into();
                fs::write(&path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
            }
            fs::copy(&client_key, mdir.join("id_rsa")).unwrap();
            let host =
                fleet.start_host(&tag, i, *layout, name, &ip_addr, &mdir, &client_key, &image);
            fleet.hosts.push(host);
        }
        fleet
    }

    /// Lays out docker on a host as docker-machine's provisioner for `layout` does: the TLS
    /// files, what starts dockerd and with which flags, and the service stand-in. Returns
    /// the init's mount commands and the command that starts docker.
    fn docker_layout(&self, root: &Path, mdir: &Path, layout: Layout) -> (String, &'static str) {
        let (etc, state) = (root.join("etc-docker"), root.join("state"));
        let s = state.display();
        let tls = match layout {
            Layout::Systemd => etc.clone(),
            Layout::Boot2docker => root.join("boot2docker"),
        };
        for d in [&etc, &tls] {
            fs::create_dir_all(d).unwrap();
        }
        // The TLS files as docker-machine copies them to a host.
        fs::copy(self.store.join("certs/ca.pem"), tls.join("ca.pem")).unwrap();
        fs::copy(mdir.join("server.pem"), tls.join("server.pem")).unwrap();
        fs::copy(mdir.join("server-key.pem"), tls.join("server-key.pem")).unwrap();
        let local = format!("-H unix://{s}/docker.sock --iptables=false --ip6tables=false --bridge=none --data-root {s}/data --exec-root {s}/exec --pidfile {s}/docker.pid");
        let (service_dir, service_name, mounts, start) = match layout {
            Layout::Systemd => {
                let units = root.join("systemd/docker.service.d");
                fs::create_dir_all(&units).unwrap();
                fs::write(
                    units.join("10-machine.conf"),
                    format!("[Service]\nExecStart=\nExecStart=/usr/sbin/dockerd -H tcp://0.0.0.0:2376 --tlsverify --tlscacert /etc/docker/ca.pem --tlscert /etc/docker/server.pem --tlskey /etc/docker/server-key.pem --label provider=generic --storage-driver vfs {local}\nEnvironment=\n"),
                )
                .unwrap();
                let sbin = root.join("sbin");
                let mounts = format!(
                    "mount --bind {} /etc/docker\nmount --bind {} /etc/systemd/system\nmount --bind {} /usr/local/sbin\n",
                    etc.display(),
                    root.join("systemd").display(),
                    sbin.display()
                );
                (sbin, "systemctl", mounts, "systemctl start docker")
            }
            Layout::Boot2docker => {
                // docker-machine's boot2docker profile (libmachine/provision/boot2docker.go);
                // the flags for this test machine ride in EXTRA_ARGS.
                fs::write(
                    tls.join("profile"),
                    format!("\nEXTRA_ARGS='\n--label provider=virtualbox\n-H unix://{s}/docker.sock\n--iptables=false\n--ip6tables=false\n--bridge=none\n--data-root {s}/data\n--exec-root {s}/exec\n--pidfile {s}/docker.pid\n'\nCACERT=/var/lib/boot2docker/ca.pem\nDOCKER_HOST='-H tcp://0.0.0.0:2376'\nDOCKER_STORAGE=vfs\nDOCKER_TLS=auto\nSERVERKEY=/var/lib/boot2docker/server-key.pem\nSERVERCERT=/var/lib/boot2docker/server.pem\n\n"),
                )
                .unwrap();
                let initd = root.join("init.d");
                // /var/lib/boot2docker is a mount point only in the host's namespace: a tmpfs
                // over /var/lib there holds it, this machine's /var/lib is left as it is. The
                // user `docker` with passwordless sudo, as on boot2docker, exists there only.
                let users = docker_user(root);
                let mounts = format!(
                    "mount -t tmpfs tmpfs /var/lib\nmkdir -p /var/lib/boot2docker\nmount --bind {} /var/lib/boot2docker\nmount --bind {} /etc/docker\nmount --bind {} /etc/init.d\n{users}",
                    tls.display(),
                    etc.display(),
                    initd.display()
                );
                (initd, "docker", mounts, "/etc/init.d/docker start")
            }
        };
        fs::create_dir_all(&service_dir).unwrap();
        let shim = service_dir.join(service_name);
        fs::write(&shim, service_script(&state, layout)).unwrap();
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&shim, fs::Permissions::from_mode(0o755)).unwrap();
        (mounts, start)
    }

    #[allow(clippy::too_many_arguments)]
    fn start_host(
        &self,
        tag: &str,
        i: usize,
        layout: Layout,
        name: &str,
        ip_addr: &str,
        mdir: &Path,
        client_key: &Path,
        image: &Path,
    ) -> Host {
        let netns = format!("{tag}h{i}");
        let root = self.dir.join("hosts").join(name);
        let (ssh, state) = (root.join("ssh"), root.join("state"));
        for d in [&ssh, &state] {
            fs::create_dir_all(d).unwrap();
        }
        let (mounts, start) = self.docker_layout(&root, mdir, layout);
        let s = state.display();
        // sshd: its own host key, the client key authorized for root.
        run(Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(ssh.join("host_ed25519")));
        let host_key = fs::read_to_string(ssh.join("host_ed25519.pub"))
            .unwrap()
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        fs::copy(
            client_key.with_extension("pub"),
            ssh.join("authorized_keys"),
        )
        .unwrap();
        fs::write(
            ssh.join("sshd_config"),
            format!(
                "ListenAddress 0.0.0.0\nPort 22\nHostKey {k}\nPidFile {s}/sshd.pid\nAuthorizedKeysFile {a}\nStrictModes no\nUsePAM no\nPermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n",
                k = ssh.join("host_ed25519").display(),
                a = ssh.join("authorized_keys").display()
            ),
        )
        .unwrap();
        // The network: a veth from the client's bridge into the host's namespace.
        ip(&["netns", "add", &netns]);
        let (outer, inner) = (format!("{tag}v{i}"), format!("{tag}e{i}"));
        let outer = &outer[outer.len().saturating_sub(15)..];
        let inner = &inner[inner.len().saturating_sub(15)..];
        ip(&["link", "add", outer, "type", "veth", "peer", "name", inner]);
        ip(&["link", "set", outer, "netns", &self.client]);
        ip(&["link", "set", inner, "netns", &netns]);
        self.in_client_ok(&["ip", "link", "set", outer, "master", "br0"]);
        self.in_client_ok(&["ip", "link", "set", outer, "up"]);
        let in_host = |args: &[&str]| {
            run(Command::new("ip")
                .args(["netns", "exec", &netns])
                .args(args));
        };
        in_host(&["ip", "link", "set", "lo", "up"]);
        in_host(&["ip", "addr", "add", &format!("{ip_addr}/24"), "dev", inner]);
        in_host(&["ip", "link", "set", inner, "up"]);
        let init = root.join("init.sh");
        fs::write(
            &init,
            format!(
                "set -e\nexport PATH=/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin\n{mounts}mkdir -p /run/sshd\n{start}\ndocker -H unix://{s}/docker.sock import {img} mbtest:1 >/dev/null\ndocker -H unix://{s}/docker.sock run -d --name app --network none mbtest:1 sleep 100000 >/dev/null\ntouch {s}/ready\nexec /usr/sbin/sshd -D -e -f {cfg} 2>>{s}/sshd.log\n",
                s = state.display(),
                img = image.display(),
                cfg = ssh.join("sshd_config").display(),
            ),
        )
        .unwrap();
        let child = Command::new("nsenter")
            .arg(format!("--net=/run/netns/{netns}"))
            .args([
                "unshare",
                "-m",
                "--propagation",
                "private",
                "--pid",
                "--fork",
                "--kill-child",
                "--mount-proc",
                "sh",
            ])
            .arg(&init)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(root.join("init.log")).unwrap())
            .spawn()
            .unwrap();
        let host = Host {
            name: name.to_string(),
            ip: ip_addr.to_string(),
            netns,
            root: root.clone(),
            host_key,
            layout,
            unshare: Some(child),
        };
        let start = Instant::now();
        while !state.join("ready").exists() || !state.join("sshd.pid").exists() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "host {name} did not start: {}\n{}",
                fs::read_to_string(root.join("init.log")).unwrap_or_default(),
                fs::read_to_string(state.join("dockerd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        host
    }

    /// A command in the client namespace.
    pub fn in_client(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.client]).args(args);
        c
    }

    fn in_client_ok(&self, args: &[&str]) {
        run(&mut self.in_client(args));
    }

    /// ssh to a host from the client namespace as docker-machine does it, with the machine's
    /// key; the host key is checked against the one the host was made with.
    pub fn ssh(&self, host: &Host, command: &str) -> std::process::Output {
        let known = self.dir.join(format!("known_hosts-{}", host.name));
        fs::write(&known, format!("{} {}\n", host.ip, host.host_key)).unwrap();
        let key = self.store.join("machines").join(&host.name).join("id_rsa");
        self.in_client(&["ssh", "-F", "/dev/null", "-o", "BatchMode=yes"])
            .arg("-o")
            .arg(format!("UserKnownHostsFile={}", known.display()))
            .args([
                "-o",
                "StrictHostKeyChecking=yes",
                "-o",
                "ConnectTimeout=10",
                "-i",
            ])
            .arg(&key)
            .arg(format!("root@{}", host.ip))
            .arg(command)
            .output()
            .unwrap()
    }

    /// The docker CLI against a host's TLS port from the client namespace, with the store's
    /// client certificate.
    pub fn docker_tls(&self, host: &Host, args: &[&str]) -> std::process::Output {
        let certs = self.store.join("certs");
        self.in_client(&["docker", "--tlsverify"])
            .arg(format!("--tlscacert={}", certs.join("ca.pem").display()))
            .arg(format!("--tlscert={}", certs.join("cert.pem").display()))
            .arg(format!("--tlskey={}", certs.join("key.pem").display()))
            .args(["-H", &format!("tcp://{}:2376", host.ip)])
            .args(args)
            .output()
            .unwrap()
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for h in &mut self.hosts {
            if let Some(mut child) = h.unshare.take() {
                // The namespace's init is unshare's child: SIGKILL to it ends the namespace
                // and every process in it.
                let pid = child.id();
                let children = fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
                    .unwrap_or_default();
                for c in children.split_whitespace() {
                    let _ = Command::new("kill").args(["-KILL", c]).status();
                }
                let _ = child.kill();
                let _ = child.wait();
            }
            let _ = Command::new("ip").args(["netns", "del", &h.netns]).status();
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.client])
            .status();
        // dockerd's vfs layers and containerd's state belong to root and may be busy for a
        // moment after the kill: the temp dir removal after this is best effort.
        std::thread::sleep(Duration::from_millis(100));
    }
}
