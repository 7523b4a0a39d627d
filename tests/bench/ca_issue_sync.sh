#!/usr/bin/env bash
# tests/bench/ca_issue_sync.sh: what the syncs of one `certbench ca issue` cost on a real disk,
# against `openssl ca -batch` (which syncs nothing), whole processes, in the same run:
#   quiet   nothing else writes to the file system
#   busy    another program dirties 500 MB in another folder of the same file system (dd without
#           conv=fsync, started just before the command): a sync of the whole file system
#           (syncfs) waits for that writer's data, a sync of the CA's own files should not
# Each row runs both commands in turn (interleaved) and prints medians and their ratio
# (certbench / openssl: below 1 is faster). Not run by tests/run.
# Environment: DIR (a folder on the disk to measure; default build/bench/ca_sync, never tmpfs),
# RUNS (20 quiet), BUSY_RUNS (5), BUSY_MB (500), CB (build/certbench).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
CB=${CB:-$ROOT/build/certbench}
[ -x "$CB" ] || { echo "build first: ninja" >&2; exit 1; }
W=${DIR:-$ROOT/build/bench/ca_sync}
mkdir -p "$W"
W=$(cd "$W" && pwd)/ca_sync.$$
case $(stat -f -c %T "$(dirname "$W")") in
  tmpfs|ramfs) echo "ca_issue_sync.sh: $W is on $(stat -f -c %T "$(dirname "$W")"): measure a disk" >&2; exit 2 ;;
esac
mkdir -p "$W"
trap 'rm -rf "$W"' EXIT
cd "$W"

. "$ROOT/tests/bench/fixtures.sh"
bench_ca_fixtures
mkdir -p noise
"$CB" --quiet ca init cb-ca --subject "/C=NO/O=net2/CN=Bench CA" --key ec:P-256 --no-encrypt >/dev/null
sync

PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$ROOT/tests/bench" python3 - "$CB" "$W" "${RUNS:-20}" "${BUSY_RUNS:-5}" "${BUSY_MB:-500}" <<'PY'
import os, statistics, subprocess, sys, time
cb, w, runs, busy_runs, busy_mb = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
from spawn import spawn
cba = [cb, "ca", "issue", "cb-ca", "--csr", "server.csr", "--out", "cb-out.pem"]
osa = ["openssl", "ca", "-batch", "-notext", "-config", "ossl/ca.cnf", "-in", "server.csr", "-out", "ossl-out.pem"]
big = os.path.join(w, "noise", "big")
def busy(argv):
    # the neighbour: 500 MB of dirty pages in another folder, still being written when the
    # command starts; its data is flushed (and removed) before the next measurement
    dd = subprocess.Popen(["dd", "if=/dev/zero", "of=" + big, "bs=1M", "count=%d" % busy_mb],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.2)
    dt = spawn(argv)
    dd.wait()
    os.unlink(big)
    os.sync()
    return dt
print("fs: %s; whole processes, medians; load average: %s" % (
    subprocess.run(["stat", "-f", "-c", "%T", w], capture_output=True, text=True).stdout.strip(),
    " ".join(open("/proc/loadavg").read().split()[:3])))
print("%-34s %10s %10s %8s" % ("ca issue, one certificate", "certbench", "openssl", "ratio"))
spawn(cba); spawn(osa)
for name, n, f in (("quiet (%d runs)" % runs, runs, spawn),
                   ("busy: dd %d MB alongside (%d runs)" % (busy_mb, busy_runs), busy_runs, busy)):
    ta, tb = [], []
    for _ in range(n):
        ta.append(f(cba)); tb.append(f(osa))
    ma, mb = statistics.median(ta), statistics.median(tb)
    print("%-34s %8.1f ms %7.1f ms %7.2fx" % (name, ma * 1e3, mb * 1e3, ma / mb))
PY
