#!/usr/bin/env bash
# tests/bench/startup.sh: one command per process, certbench against its openssl peer, side by
# side in one run (issue 17's table). Each row runs both commands RUNS times, interleaved (one of
# each in turn, so a burst of load on this shared machine hits both), and prints the medians of
# the wall-clock times and their ratio (certbench / openssl: below 1 is faster).
#   version       certbench version                  openssl version
#   show          certbench show cert.pem            openssl x509 -noout -text -in cert.pem
#   ca issue      certbench ca issue (EC P-256 CA,   openssl ca -batch -notext (same key type and
#                 CSR on tmpfs, fsyncs included)     extensions; openssl ca does not fsync)
#   crl info      certbench crl info a.crl           openssl crl -noout -text -in a.crl (10 entries)
#   pfx info      certbench pfx info a.pfx           openssl pkcs12 -info -noout (AES PBES2 PFX)
#   vcs check     certbench vcs check --key --cert   openssl verify -CAfile (the closest peer: the
#                 --ca --fqdn                        chain part of what vcs check does)
# Every process is started with posix_spawn from one Python process and waited for, so the
# harness costs the same for both sides. Not run by tests/run.
# Environment: RUNS (30), CB (build/certbench), WORK (a tmpfs folder: /dev/shm/certbench-startup).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
CB=${CB:-$ROOT/build/certbench}
[ -x "$CB" ] || { echo "build first: ninja" >&2; exit 1; }
RUNS=${RUNS:-30}
W=${WORK:-/dev/shm/certbench-startup}
[ -d /dev/shm ] || W=$ROOT/build/bench/startup
rm -rf "$W" && mkdir -p "$W"
trap 'rm -rf "$W"' EXIT
cd "$W"

# fixtures, made with the openssl CLI
. "$ROOT/tests/bench/fixtures.sh"
bench_ca_fixtures
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -set_serial 0x1001 -days 365 -out server.pem \
  -extfile <(printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:vcs.example.com\n') 2>/dev/null
chmod 600 server.key
openssl pkcs12 -export -inkey server.key -in server.pem -certfile ca.pem -passout pass:bench \
  -out server.pfx 2>/dev/null

# the openssl CA (as tests/bench/ca_issue.sh) and its CRL of 10 entries
for i in $(seq 1 10); do
  openssl ca -batch -notext -config ossl/ca.cnf -in server.csr -out r$i.pem 2>/dev/null
  openssl ca -config ossl/ca.cnf -revoke r$i.pem -crl_reason keyCompromise 2>/dev/null
done
openssl ca -gencrl -config ossl/ca.cnf -out small.crl 2>/dev/null

# the certbench CA: same key type, unencrypted key as the openssl one
"$CB" --quiet ca init cb-ca --subject "/C=NO/O=net2/CN=Bench CA" --key ec:P-256 --no-encrypt >/dev/null

PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$ROOT/tests/bench" python3 - "$RUNS" "$CB" "$W" <<'PY'
import os, statistics, sys, time
runs, cb, w = int(sys.argv[1]), sys.argv[2], sys.argv[3]
from spawn import spawn
rows = [
  ("version", [cb, "version"], ["openssl", "version"]),
  ("show cert.pem", [cb, "show", "server.pem"], ["openssl", "x509", "-noout", "-text", "-in", "server.pem"]),
  ("ca issue (EC P-256, tmpfs)",
   [cb, "ca", "issue", "cb-ca", "--csr", "server.csr", "--out", "cb-out.pem"],
   ["openssl", "ca", "-batch", "-notext", "-config", "ossl/ca.cnf", "-in", "server.csr", "-out", "ossl-out.pem"]),
  ("crl info (10 entries)", [cb, "crl", "info", "small.crl"], ["openssl", "crl", "-noout", "-text", "-in", "small.crl"]),
  ("pfx info", [cb, "pfx", "info", "server.pfx", "--passin", "pass:bench"],
   ["openssl", "pkcs12", "-info", "-noout", "-in", "server.pfx", "-passin", "pass:bench"]),
  ("vcs check", [cb, "vcs", "check", "--key", "server.key", "--cert", "server.pem", "--ca", "ca.pem",
                 "--fqdn", "vcs.example.com"],
   ["openssl", "verify", "-CAfile", "ca.pem", "server.pem"]),
]
with open("/proc/loadavg") as f: load = " ".join(f.read().split()[:3])
print("whole processes, median of %d runs each, interleaved; load average before: %s" % (runs, load))
print("%-28s %10s %10s %8s   %s" % ("command", "certbench", "openssl", "ratio", "peer"))
for name, a, b in rows:
    spawn(a); spawn(b)   # warm the page cache
    ta, tb = [], []
    for _ in range(runs):
        ta.append(spawn(a)); tb.append(spawn(b))
    ma, mb = statistics.median(ta), statistics.median(tb)
    print("%-28s %8.1f ms %7.1f ms %7.2fx   %s" % (name, ma * 1e3, mb * 1e3, ma / mb, " ".join(b[:3])))
with open("/proc/loadavg") as f: load = " ".join(f.read().split()[:3])
print("load average after: %s (%d CPUs)" % (load, os.cpu_count()))
PY
