#!/usr/bin/env python3
"""Builds the benchmark stores from the fixtures (no network; openssl and ssh-keygen):

  vbox-store/   one virtualbox machine whose disk.vmdk is DISK_MIB MiB: the first half
                random (encrypted or already-compressed data: incompressible), the second
                half a mostly empty region with file data scattered in it (compressible).
  real-store/   one virtualbox machine as a real one compresses: disk.vmdk of DISK_MIB MiB,
                half random (docker layers' compressed blobs), half this system's own
                executables and libraries concatenated (an ext4 root full of binaries), and a
                60 MiB boot2docker.iso of compressed data. Not generated text: binaries
                compress about 2.8:1 under gzip -6, as on a real VM disk.
  cloud-store/  500 generic machines sharing two CAs: 250 on the store's certs/, 250 on a
                custom CA kept outside the store, config.json spelled for where it is. As in
                a real store, each machine has its own SSH key and its own server key and
                certificate (signed by its CA: openssl and ssh-keygen make them, once, kept
                in $BENCH_KEYS, default /tmp/mbundle-bench-keys: 1,000 RSA keys take about a
                minute); only the CA, client certificate and client key are copies.
"""
import concurrent.futures
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "fixtures", "linux", "home", "alice")
STORE = os.path.join(FIX, ".docker", "machine")


def write_random(f, size):
    """`size` random bytes (encrypted or already-compressed data: incompressible)."""
    while size:
        n = min(size, 1 << 20)
        f.write(os.urandom(n))
        size -= n


def write_disk(path, mib):
    half = mib * (1 << 20) // 2
    with open(path, "wb") as f:
        write_random(f, half)
        # Free space with files in it: 1 KiB of log-like text every 16 KiB.
        text = b"".join(b"2026-11-24T06:%02d:%02d.%03d INFO worker-%d job %08d done in %dms\n" % (i % 60, i % 60, i % 1000, i % 16, i * 7919, i % 997) for i in range(16))[:1024]
        block = text + b"\0" * (16384 - len(text))
        left = mib * (1 << 20) - half
        chunk = block * 64
        while left:
            n = min(left, len(chunk))
            f.write(chunk[:n])
            left -= n


def system_binaries():
    """This system's executables and libraries, in a stable order, each once."""
    for top in ("/usr/bin", "/usr/sbin", "/usr/lib", "/usr/libexec"):
        for d, dirs, files in sorted(os.walk(top)):
            dirs.sort()
            for name in sorted(files):
                p = os.path.join(d, name)
                if os.path.islink(p) or not os.path.isfile(p):
                    continue
                try:
                    with open(p, "rb") as f:
                        if f.read(4) != b"\x7fELF":
                            continue
                except OSError:
                    continue
                yield p


def write_real_disk(path, mib):
    half = mib * (1 << 20) // 2
    with open(path, "wb") as f:
        write_random(f, half)
        left = mib * (1 << 20) - half
        while left:
            wrote = False
            for p in system_binaries():
                with open(p, "rb") as b:
                    data = b.read(left)
                f.write(data)
                left -= len(data)
                wrote = wrote or bool(data)
                if not left:
                    break
            if not wrote:
                raise SystemExit("no executables found under /usr to build the realistic disk")


def real_store(out, mib):
    m = vbox_machine_store(out, "real-store", lambda disk: write_real_disk(disk, mib))
    with open(os.path.join(m, "boot2docker.iso"), "wb") as f:
        write_random(f, 60 << 20)


def config_for(src_config, old_root, new_root, old_name, new_name, extra=()):
    with open(src_config, encoding="utf-8") as f:
        text = f.read()
    text = text.replace(old_root + "/machines/" + old_name, new_root + "/machines/" + new_name)
    text = text.replace(old_root, new_root)
    for a, b in extra:
        text = text.replace(a, b)
    cfg = json.loads(text)
    cfg["Name"] = new_name
    cfg["Driver"]["MachineName"] = new_name
    return json.dumps(cfg, indent=4, ensure_ascii=False)


def vbox_machine_store(out, name, write_disk_at):
    """A store `name` holding the fixture's vbox machine, its disk.vmdk written by
    `write_disk_at(path)` and its config.json spelled for where it is. Returns the machine
    directory."""
    dst = os.path.join(out, name)
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(os.path.join(STORE, "certs"), os.path.join(dst, "certs"))
    m = os.path.join(dst, "machines", "vbox")
    shutil.copytree(os.path.join(STORE, "machines", "vbox"), m)
    os.remove(os.path.join(m, "disk.vmdk"))
    write_disk_at(os.path.join(m, "disk.vmdk"))
    with open(os.path.join(m, "config.json"), "w", encoding="utf-8") as f:
        f.write(config_for(os.path.join(STORE, "machines", "vbox", "config.json"), "/home/alice/.docker/machine", dst, "vbox", "vbox"))
    return m


def vbox_store(out, mib):
    vbox_machine_store(out, "vbox-store", lambda disk: write_disk(disk, mib))


MACHINE_KEYS = ("id_rsa", "id_rsa.pub", "server.pem", "server-key.pem")


def machine_keys(cache, name, ca_dir, ip):
    """The SSH key pair and the server key and certificate (signed by the CA in `ca_dir`,
    SANs localhost and `ip`, as docker-machine issues them) of machine `name`, made once
    under `cache/name/`. Returns that directory."""
    d = os.path.join(cache, name)
    if all(os.path.exists(os.path.join(d, k)) for k in MACHINE_KEYS):
        return d
    tmp = tempfile.mkdtemp(dir=cache)
    run = lambda *a: subprocess.run(a, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run("ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-C", "", "-f", os.path.join(tmp, "id_rsa"))
    key, csr, cert = (os.path.join(tmp, n) for n in ("server-key.pem", "server.csr", "server.pem"))
    run("openssl", "genrsa", "-traditional", "-out", key, "2048")
    run("openssl", "req", "-new", "-key", key, "-subj", "/O=alice." + name, "-out", csr)
    ext = os.path.join(tmp, "ext.cnf")
    with open(ext, "w") as f:
        f.write("keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
                "authorityKeyIdentifier=keyid\nsubjectAltName=DNS:localhost,IP:" + ip + "\n")
    run("openssl", "x509", "-req", "-in", csr, "-CA", os.path.join(ca_dir, "ca.pem"),
        "-CAkey", os.path.join(ca_dir, "ca-key.pem"), "-set_serial", str(random.getrandbits(120)),
        "-days", "3650", "-sha256", "-extfile", ext, "-out", cert)
    os.remove(csr)
    os.remove(ext)
    shutil.rmtree(d, ignore_errors=True)
    os.rename(tmp, d)
    return d


def cloud_store(out, count):
    dst = os.path.join(out, "cloud-store")
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(os.path.join(STORE, "certs"), os.path.join(dst, "certs"))
    acme = os.path.join(out, "acme-ca")
    shutil.rmtree(acme, ignore_errors=True)
    shutil.copytree(os.path.join(FIX, "acme-ca"), acme)
    cache = os.environ.get("BENCH_KEYS", "/tmp/mbundle-bench-keys")
    os.makedirs(cache, exist_ok=True)
    names = ["cloud%03d" % i for i in range(count)]
    ca_of = lambda i: os.path.join(STORE, "certs") if i % 2 == 0 else acme
    ip_of = lambda i: "10.1.%d.%d" % (i // 250, i % 250 + 1)
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        keys = list(pool.map(lambda i: machine_keys(cache, names[i], ca_of(i), ip_of(i)), range(count)))
    for i in range(count):
        name = names[i]
        src = "db" if i % 2 == 0 else "edge"
        m = os.path.join(dst, "machines", name)
        shutil.copytree(os.path.join(STORE, "machines", src), m)
        for k in MACHINE_KEYS:
            shutil.copy(os.path.join(keys[i], k), os.path.join(m, k))
        os.chmod(os.path.join(m, "id_rsa"), 0o600)
        os.chmod(os.path.join(m, "server-key.pem"), 0o600)
        extra = [("/home/alice/acme-ca", acme), ("203.0.113.30", ip_of(i))] if src == "edge" else [("203.0.113.20", ip_of(i))]
        with open(os.path.join(m, "config.json"), "w", encoding="utf-8") as f:
            f.write(config_for(os.path.join(STORE, "machines", src, "config.json"), "/home/alice/.docker/machine", dst, src, name, extra))


if __name__ == "__main__":
    out, mib = sys.argv[1], int(sys.argv[2])
    os.makedirs(out, exist_ok=True)
    if len(sys.argv) > 3 and sys.argv[3] == "vbox-only":
        vbox_store(out, mib)
    elif len(sys.argv) > 3 and sys.argv[3] == "real-only":
        real_store(out, mib)
    else:
        vbox_store(out, mib)
        real_store(out, mib)
        cloud_store(out, 500)
