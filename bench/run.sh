#!/usr/bin/env bash
# mbundle against the shell pipelines a user would otherwise type, measured in the same run.
#
#   bench/run.sh                 # full run: 1 GiB disk, 500 machines, memory at 10 MB..2 GiB
#   DISK_MIB=256 RUNS=2 bench/run.sh   # quicker
#   FLEET=0 bench/run.sh         # without the fleet section (f), which needs root
#
# Builds its own stores (bench/make_stores.py) under $BENCH_DIR (default /tmp/mbundle-bench).
# Needs: hyperfine pigz zstd gzip age age-keygen /usr/bin/time python3 openssl ssh-keygen
#   apt-get install hyperfine pigz zstd age time
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
W="${BENCH_DIR:-/tmp/mbundle-bench}"
DISK_MIB="${DISK_MIB:-1024}"
RUNS="${RUNS:-3}"
# Section (b) takes a tenth of a second a run: more runs, and medians, steady its figures.
RUNS_SMALL="${RUNS_SMALL:-10}"
RSS_SIZES="${RSS_SIZES:-10 100 1024 2048}"

for tool in hyperfine pigz zstd gzip age age-keygen python3 openssl ssh-keygen; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install hyperfine pigz zstd age time" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "missing /usr/bin/time: apt-get install time" >&2; exit 1; }

(cd "$root" && cargo build --release --quiet)
M="$root/target/release/mbundle"
if [ -e "$W" ]; then
  rm -rf "$W"
  # On ext4 without a journal (this project's machine), the kernel will not reuse an inode
  # freed in the last 60 s (300 s while its table block is unwritten), and every file
  # created meanwhile scans past all of them: thousands of creates right after deleting
  # thousands of files cost seconds, for tar as for mbundle. Let the last run's files settle
  # so the figures measure the tools, not the previous run's cleanup.
  if [ -z "${BENCH_NO_SETTLE:-}" ]; then
    echo "removed the previous run's $W; sync and 65 s for the freed inodes to settle (BENCH_NO_SETTLE=1 skips)"
    sync
    sleep 65
  fi
fi
mkdir -p "$W" && cd "$W"
echo "building stores in $W (disks: $DISK_MIB MiB synthetic and realistic, 500 cloud machines)..."
python3 "$here/make_stores.py" "$W" "$DISK_MIB"
age-keygen -o key.txt 2>/dev/null
R="$(age-keygen -y key.txt)"
cores="$(nproc)"

echo
echo "== (a) one virtualbox machine, ${DISK_MIB} MiB disk (half incompressible), --include-disks =="
# Before each run its command's previous output is removed and everything synced: every
# command then starts with a clean page cache and does not pay for freeing the last run's
# half-GiB file (this file system discards freed blocks) nor for anyone else's writeback.
hyperfine --style basic --runs "$RUNS" --export-json a-export.json \
  --prepare "rm -f out.mbundle; sync" --prepare "rm -f out-gzip.age; sync" \
  --prepare "rm -f out-pigz.age; sync" --prepare "rm -f out-zstd.age; sync" \
  -n "mbundle export" "$M -s vbox-store export --all --include-disks -r $R -o out.mbundle -f -q" \
  -n "tar|gzip|age" "tar -C vbox-store -cf - . | gzip | age -r $R > out-gzip.age" \
  -n "tar|pigz -p$cores|age" "tar -C vbox-store -cf - . | pigz -p$cores | age -r $R > out-pigz.age" \
  -n "tar|zstd -T$cores|age" "tar -C vbox-store -cf - . | zstd -q -T$cores | age -r $R > out-zstd.age"
# Imports go to a fresh directory each run: deleting thousands of files right before
# creating them again makes ext4 search past recently freed inodes and slows every create.
# Each run starts after `sync`: mbundle makes its staged files durable with one syncfs
# before it commits, and that would otherwise also write out the GiBs the previous
# benchmark left dirty (tar, which never syncs, would not pay for them).
# time_imports JSON LABEL BUNDLE PIGZ_BUNDLE: mbundle's import of BUNDLE against
# `age -d | pigz -d | tar -x` of PIGZ_BUNDLE, each run into a new directory under imp/.
time_imports() {
  mkdir -p imp
  hyperfine --style basic --runs "$RUNS" --warmup "${WARMUP:-0}" --prepare sync --export-json "$1" \
    -n "$2" "$M -s $W/imp/m-\$(date +%s%N) import $3 -i key.txt -q" \
    -n "age -d|pigz -d|tar -x" "d=$W/imp/p-\$(date +%s%N); mkdir \$d; age -d -i key.txt $4 | pigz -d | tar -xf - -C \$d"
  rm -rf imp
}
time_imports a-import.json "mbundle import (verifies every sha256)" out.mbundle out-pigz.age

echo
echo "== (r) one virtualbox machine as real ones compress: ${DISK_MIB} MiB disk (half random, half system binaries) + 60 MiB iso =="
hyperfine --style basic --runs "$RUNS" --export-json r-export.json \
  --prepare "rm -f real.mbundle; sync" --prepare "rm -f real-pigz.age; sync" \
  -n "mbundle export" "$M -s real-store export --all --include-disks -r $R -o real.mbundle -f -q" \
  -n "tar|pigz -p$cores -6|age" "tar -C real-store -cf - . | pigz -p$cores -6 | age -r $R > real-pigz.age"
time_imports r-import.json "mbundle import (verifies every sha256)" real.mbundle real-pigz.age

echo
echo "== (b) 500 cloud machines sharing two CAs ($RUNS_SMALL runs each, medians below) =="
hyperfine --style basic --runs "$RUNS_SMALL" --warmup 1 --export-json b-export.json \
  --prepare "rm -f cloud.mbundle; sync" --prepare "rm -f cloud-pigz.age; sync" \
  -n "mbundle export --all" "$M -s cloud-store export --all -r $R -o cloud.mbundle -f -q" \
  -n "tar|pigz|age" "tar -C cloud-store -cf - . | pigz -p$cores | age -r $R > cloud-pigz.age"
# One unmeasured run first, as for the exports above: the first import after the disk
# sections freed gigabytes (discarded by this file system) ran 2.5x slower than the rest,
# whichever command came first paying for it.
WARMUP=1 RUNS="$RUNS_SMALL" time_imports b-import.json "mbundle import (500 machines)" cloud.mbundle cloud-pigz.age

echo
echo "== peak memory (RSS) of mbundle by disk size =="
printf '%10s %14s %14s\n' "disk MiB" "export KiB" "import KiB"
for mib in $RSS_SIZES; do
  mkdir -p "rss-$mib"
  python3 "$here/make_stores.py" "$W/rss-$mib" "$mib" vbox-only
  e=$( { /usr/bin/time -f '%M' "$M" -s "rss-$mib/vbox-store" export --all --include-disks -r "$R" -o "rss-$mib.mbundle" -f -q; } 2>&1 | tail -n 1)
  rm -rf "rss-$mib/t"
  i=$( { /usr/bin/time -f '%M' "$M" -s "$W/rss-$mib/t" import "rss-$mib.mbundle" -i key.txt -q; } 2>&1 | tail -n 1)
  printf '%10s %14s %14s\n' "$mib" "$e" "$i"
  rm -rf "rss-$mib" "rss-$mib.mbundle"
done

echo
echo "== (f) a fleet: ${FLEET_HOSTS:-8} test hosts (sshd and dockerd in network namespaces, tests/util/hosts.rs) =="
# mbundle push --parallel 1 and 4 with a container running on every host, a current fleet,
# and, with no container anywhere (so a restart is the same work for both), mbundle against
# the bare minimum: one ssh session per host that copies the three files and restarts docker.
# Needs root, sshd, sudo, busybox, ip, dockerd (what .ci/run installs); FLEET=0 skips it.
if [ "${FLEET:-1}" = 0 ]; then
  echo "skipped (FLEET=0)"
elif [ "$(id -u)" != 0 ]; then
  echo "skipped: test hosts need root"
else
  (cd "$root" && FLEET_HOSTS="${FLEET_HOSTS:-8}" FLEET_ROUNDS="${FLEET_ROUNDS:-3}" \
    cargo test --release --quiet --test tests bench_fleet -- --ignored --nocapture 2>&1 \
    | grep -E '^(containers running|no container|fleet of|  )')
fi

echo
python3 - <<'PY'
import json, os
def load(f):
    return {r["command"]: r["mean"] for r in json.load(open(f))["results"]}
a, ai, b, bi = (load(f) for f in ("a-export.json", "a-import.json", "b-export.json", "b-import.json"))
size = lambda f: os.path.getsize(f)
m = a["mbundle export"]
print("export (a), mean seconds and speed-up of mbundle:")
for k, v in a.items():
    print(f"  {k:28s} {v:7.2f} s   x{v / m:5.2f}")
pig = [k for k in a if "pigz" in k][0]
print("output sizes (a):")
for name, f in (("mbundle", "out.mbundle"), ("gzip", "out-gzip.age"), ("pigz", "out-pigz.age"), ("zstd", "out-zstd.age")):
    print(f"  {name:10s} {size(f):>14,d} bytes   {size(f) / size('out-pigz.age'):.4f} of pigz -6")
mi = [k for k in ai if k.startswith("mbundle")][0]
pi = [k for k in ai if not k.startswith("mbundle")][0]
print(f"import (a): mbundle {ai[mi]:.2f} s vs {pi} {ai[pi]:.2f} s   (x{ai[pi] / ai[mi]:.2f})")
r, ri = load("r-export.json"), load("r-import.json")
rp = [k for k in r if "pigz" in k][0]
rmi = [k for k in ri if k.startswith("mbundle")][0]
rpi = [k for k in ri if not k.startswith("mbundle")][0]
print(f"realistic disk (r): export {r['mbundle export']:.2f} s vs {rp} {r[rp]:.2f} s (x{r[rp] / r['mbundle export']:.2f} faster), "
      f"size {size('real.mbundle') / size('real-pigz.age'):.4f} of pigz -6; "
      f"import {ri[rmi]:.2f} s vs {rpi} {ri[rpi]:.2f} s ({ri[rmi] / ri[rpi]:.2f} of its time)")
import statistics
med = lambda f: {r["command"]: statistics.median(r["times"]) for r in json.load(open(f))["results"]}
bm, bim = med("b-export.json"), med("b-import.json")
bp = [k for k in bm if not k.startswith("mbundle")][0]
bip = [k for k in bim if not k.startswith("mbundle")][0]
print(f"500 machines (medians): export --all {bm['mbundle export --all'] * 1000:.1f} ms vs {bp} {bm[bp] * 1000:.1f} ms "
      f"(x{bm['mbundle export --all'] / bm[bp]:.2f} of its time), size {size('cloud.mbundle') / size('cloud-pigz.age'):.4f} of it; "
      f"import {bim['mbundle import (500 machines)'] * 1000:.1f} ms vs {bip} {bim[bip] * 1000:.1f} ms "
      f"(x{bim['mbundle import (500 machines)'] / bim[bip]:.2f} of its time)")
print(f"summary: export x{a[pig] / m:.2f} faster than {pig}; size {size('out.mbundle') / size('out-pigz.age'):.4f} of pigz -6")
PY
