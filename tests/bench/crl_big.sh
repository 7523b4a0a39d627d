#!/usr/bin/env bash
# tests/bench/crl_big.sh: a 1,000,000-entry RSA-signed CRL (made once by `openssl ca -gencrl`
# from a generated index.txt, cached in build/bench/crl_big/), loaded and verified by certbench
# against `openssl crl -inform DER -noout -CAfile` and `sha256sum` (the floor: the signature
# covers the whole CRL), plus one serial lookup from a Lua script, load included. Prints the
# best of $RUNS runs (wall time, peak RSS from /usr/bin/time -v) and the ratios.
# Not run by tests/run. Options (environment): N (entries, default 1000000), RUNS (3),
# SERIAL_BYTES (16: random serials as modern CAs use; 3 gives sequential small ones).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
N=${N:-1000000}
RUNS=${RUNS:-3}
SERIAL_BYTES=${SERIAL_BYTES:-16}
B="$ROOT/build/bench/crl_big/n$N-s$SERIAL_BYTES"
CB="$ROOT/build/certbench"
[ -x "$CB" ] || { echo "build first: ninja" >&2; exit 1; }
mkdir -p "$B"

if [ ! -s "$B/big.der" ]; then
  echo "generating a $N-entry CRL in $B (once)..." >&2
  rm -rf "$B/ca" && mkdir -p "$B/ca/newcerts"
  (
    cd "$B/ca"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 3650 \
      -subj "/C=NO/O=certbench/CN=Bench CA" 2>/dev/null
    cat > ca.cnf <<'CNF'
[ ca ]
default_ca = CA_default
[ CA_default ]
dir = .
database = index.txt
new_certs_dir = newcerts
certificate = ca.pem
private_key = ca.key
serial = serial
crlnumber = crlnumber
default_md = sha256
default_crl_days = 30
crl_extensions = crl_ext
policy = pol
unique_subject = no
[ pol ]
commonName = supplied
[ crl_ext ]
authorityKeyIdentifier = keyid:always
CNF
    echo 1000 > crlnumber
    # revoked entries: random serials, revocation dates over five years, a reason on 3 in 4
    python3 - "$N" "$SERIAL_BYTES" > index.txt <<'PY'
import os, sys, random
n, sb = int(sys.argv[1]), int(sys.argv[2])
reasons = ["", "keyCompromise", "superseded", "cessationOfOperation", "affiliationChanged"]
rnd = random.Random(20261128)
seen = set()
out = sys.stdout
i = 0
while i < n:
    if sb <= 4:
        s = i + 1
    else:
        s = rnd.getrandbits(8 * sb - 1) | (1 << (8 * sb - 2))
    if s in seen:
        continue
    seen.add(s)
    i += 1
    h = "%X" % s
    if len(h) % 2:
        h = "0" + h
    t = 1600000000 + rnd.randrange(5 * 365 * 86400)
    import time
    tm = time.gmtime(t)
    d = time.strftime("%y%m%d%H%M%SZ", tm)
    r = reasons[i % 4] if i % 4 else ""
    rev = d + ("," + r if r else "")
    out.write("R\t301231235959Z\t%s\t%s\tunknown\t/CN=host%d\n" % (rev, h, i))
PY
    openssl ca -config ca.cnf -gencrl -out big.pem 2>/dev/null
    openssl crl -in big.pem -outform DER -out ../big.der
    cp ca.pem ../ca.pem
    sed -n '500000p;1p' index.txt | cut -f4 > ../serials.txt
  )
  # the same entries in a shuffled order (as Microsoft CAs publish them): the sorting path
  cat > "$B/shuffle.lua" <<'LUA'
local crl = require "certbench.crl"
local x509 = require "certbench.x509"
local pkey = require "certbench.pkey"
local fs = require "certbench.fs"
local dir = ...
local c = assert(crl.load_file(dir .. "/big.der"))
local list = {}
for e in c:entries() do list[#list + 1] = e end
math.randomseed(42)
for i = #list, 2, -1 do
  local j = math.random(i)
  list[i], list[j] = list[j], list[i]
end
local ca = assert(x509.load(fs.read(dir .. "/ca.pem")))
local key = assert(pkey.load(fs.read(dir .. "/ca/ca.key")))
local s = assert(crl.new { issuer = ca, key = key, days = 30, number = 4097, entries = list, sort = false })
assert(fs.write(dir .. "/shuffled.der", s:to_der()))
LUA
  "$CB" run "$B/shuffle.lua" "$B"
fi

cat > "$B/load_verify.lua" <<'LUA'
local crl = require "certbench.crl"
local x509 = require "certbench.x509"
local fs = require "certbench.fs"
local file, cafile = ...
local ca = assert(x509.load(assert(fs.read(cafile))))
local t0 = os.clock()
local c = assert(crl.load_file(file))
local t1 = os.clock()
local ok, why = c:verify(ca)
local t2 = os.clock()
print(("%d entries, verify %s%s (CPU, all threads: load %.0f ms, verify %.0f ms)"):format(c:count(),
  ok and "OK" or "FAILED: ", why or "", (t1 - t0) * 1e3, (t2 - t1) * 1e3))
os.exit(ok and 0 or 1)
LUA
cat > "$B/lookup.lua" <<'LUA'
local crl = require "certbench.crl"
local file, serial = ...
local c = assert(crl.load_file(file))
local e = c:lookup(serial)
print(("lookup %s: %s"):format(serial, e and ("revoked " .. os.date("!%Y-%m-%dT%H:%M:%SZ", e.date) .. " " .. (e.reason or "")) or "not revoked"))
os.exit(e and 0 or 1)
LUA
SERIAL=$(sed -n 2p "$B/serials.txt")

# measure NAME CMD...: best wall time and peak RSS of RUNS runs
declare -A T M
measure() {
  local name=$1; shift
  local best_t="" best_m="" i
  for ((i = 0; i < RUNS; i++)); do
    # wall time from bash's microsecond clock (time -v rounds to 10 ms), peak RSS from time -v
    local t0=$EPOCHREALTIME
    /usr/bin/time -v -o "$B/time.txt" "$@" > "$B/out.txt" 2>&1 || { echo "$name failed:" >&2; cat "$B/out.txt" >&2; exit 1; }
    local t1=$EPOCHREALTIME t m
    t=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')
    m=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$B/time.txt")
    if [ -z "$best_t" ] || awk -v a="$t" -v b="$best_t" 'BEGIN { exit !(a < b) }'; then best_t=$t; fi
    if [ -z "$best_m" ] || [ "$m" -lt "$best_m" ]; then best_m=$m; fi
  done
  T[$name]=$best_t; M[$name]=$best_m
  printf "%-36s %8.3f s %9d KB   %s\n" "$name" "$best_t" "$best_m" "$(head -1 "$B/out.txt" | cut -c1-80)"
}

SIZE=$(stat -c %s "$B/big.der")
echo "CRL: $N entries, $SIZE bytes DER, serials of $SERIAL_BYTES bytes; best of $RUNS runs"
cat "$B/big.der" "$B/shuffled.der" > /dev/null # warm the page cache
measure sha256sum sha256sum "$B/big.der"
measure "openssl dgst -sha256" openssl dgst -sha256 "$B/big.der"
measure "openssl crl -noout -CAfile" openssl crl -inform DER -in "$B/big.der" -noout -CAfile "$B/ca.pem"
measure "certbench load+verify" "$CB" run "$B/load_verify.lua" "$B/big.der" "$B/ca.pem"
measure "certbench load+lookup" "$CB" run "$B/lookup.lua" "$B/big.der" "$SERIAL"
measure "certbench load+verify, no prehash" env CERTBENCH_CRL_PREHASH=0 "$CB" run "$B/load_verify.lua" "$B/big.der" "$B/ca.pem"
measure "certbench load+lookup, no prehash" env CERTBENCH_CRL_PREHASH=0 "$CB" run "$B/lookup.lua" "$B/big.der" "$SERIAL"
measure "certbench load+verify (shuffled)" "$CB" run "$B/load_verify.lua" "$B/shuffled.der" "$B/ca.pem"
measure "certbench load+lookup (shuffled)" "$CB" run "$B/lookup.lua" "$B/shuffled.der" "$SERIAL"
# the command line path (plugins/crl): what a user types, plugin loading and output included
CLI=0
if [ -f plugins/crl/init.lua ]; then
  CLI=1
  measure "certbench crl info --ca (CLI)" "$CB" crl info --ca "$B/ca.pem" "$B/big.der"
  grep -q "verifies:     yes" "$B/out.txt" || { echo "crl info --ca did not verify:" >&2; cat "$B/out.txt" >&2; exit 1; }
fi
measure "certbench startup (no CRL)" "$CB" run /dev/null
measure "openssl startup (version)" openssl version

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }'; }
echo
echo "openssl / certbench load+verify:   time $(ratio "${T[openssl crl -noout -CAfile]}" "${T[certbench load+verify]}")x, peak RSS $(ratio "${M[openssl crl -noout -CAfile]}" "${M[certbench load+verify]}")x   (target: >= 10x, >= 4x)"
echo "openssl / certbench load+lookup:   time $(ratio "${T[openssl crl -noout -CAfile]}" "${T[certbench load+lookup]}")x, peak RSS $(ratio "${M[openssl crl -noout -CAfile]}" "${M[certbench load+lookup]}")x"
if [ "$CLI" = 1 ]; then
  echo "openssl / certbench crl info --ca: time $(ratio "${T[openssl crl -noout -CAfile]}" "${T[certbench crl info --ca (CLI)]}")x, peak RSS $(ratio "${M[openssl crl -noout -CAfile]}" "${M[certbench crl info --ca (CLI)]}")x   (target: >= 10x, >= 4x)"
  echo "certbench crl info --ca / sha256sum: time $(ratio "${T[certbench crl info --ca (CLI)]}" "${T[sha256sum]}")x   (target: <= 2x)"
fi
echo "certbench load+verify / sha256sum: time $(ratio "${T[certbench load+verify]}" "${T[sha256sum]}")x   (target: <= 2x)"
echo "certbench load+verify / openssl dgst -sha256: time $(ratio "${T[certbench load+verify]}" "${T[openssl dgst -sha256]}")x   (the SHA-NI floor)"
echo "shuffled / sorted load+verify:     time $(ratio "${T[certbench load+verify (shuffled)]}" "${T[certbench load+verify]}")x"
