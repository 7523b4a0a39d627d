#!/usr/bin/env bash
# tests/bench/crl_mirror.sh: `certbench crl mirror` over N sources (default 500) on a loopback
# HTTP server (tests/bench/static_server.py: asyncio, files in memory, so the server is not what
# is measured), mostly small CRLs and a few big ones, against a shell loop of `curl` +
# `openssl crl -verify` per source, the way cron jobs do it today.
# Prints wall time and peak RSS (/usr/bin/time -v), best of $RUNS, and the ratios.
# Not run by tests/run. Environment: N (sources, 500), BIG (big CRLs among them, 4),
# BIG_ENTRIES (entries of each big CRL, 250000), SMALL_ENTRIES (0..this many, 20),
# CONCURRENCY (16), RUNS (3), BASELINE (1; 0 skips the shell loops: memory runs with a big N),
# OUT_BASE (the folder the mirror is written under, $B by default: its file system is part of
# what is measured), BUSY_MB (0; N: another program dirties N MB on the same file system while
# each certbench run starts, dd without conv=fsync as in ca_issue_sync.sh: a run that syncs the
# whole file system waits for it, one that syncs its own files should not; with N <= 5 sources a
# run changes at most 16 files and syncs them one by one, above it one syncfs).
#   certbench first run   every CRL downloaded, verified, published (DER, PEM, hash link) into
#                         a new folder
#   certbench 304 run     the daily case: every source answers 304 Not Modified
#   certbench changed     every CRL re-issued with a higher number: all downloaded again
#   shell loop, own CA    curl -o + openssl crl -inform DER -noout -CAfile <the source's CA> |
#                         grep "verify OK" (openssl exits 0 on a bad signature), one source
#                         after the other: the fastest honest shell loop, and the baseline
#   xargs -P C, own CA    the same, C sources at a time
#   shell loop, bundle    the same against the bundle of all CAs (what cron jobs usually do)
# The shell loops only download and verify; certbench also publishes DER, PEM and the hash
# entry, keeps its state and writes its report.
# File creation: on ext4 without a journal (some VMs), allocating an inode skips every inode
# freed in the last 60-300 s (recently_deleted), at a cost per skipped inode, so a run right
# after deleting thousands of files pays for them. The script therefore never deletes files
# between timed runs: old mirror folders are moved aside and removed at the end, and the CRLs of
# a new generation are written over the old ones in place.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
N=${N:-500}
BIG=${BIG:-4}
BIG_ENTRIES=${BIG_ENTRIES:-250000}
SMALL_ENTRIES=${SMALL_ENTRIES:-20}
C=${CONCURRENCY:-16}
RUNS=${RUNS:-3}
CB="$ROOT/build/certbench"
[ -x "$CB" ] || { echo "build first: ninja" >&2; exit 1; }
B="$ROOT/build/bench/crl_mirror/n$N-b$BIG-e$BIG_ENTRIES"
mkdir -p "$B"

gen() { # gen GENERATION: CAs (once) and one CRL per CA with number GENERATION
  echo "$1" > "$B/generation"
  "$CB" run - "$B" "$N" "$BIG" "$BIG_ENTRIES" "$SMALL_ENTRIES" "$1" <<'LUA'
local pkey = require "certbench.pkey"
local x509 = require "certbench.x509"
local crl = require "certbench.crl"
local fs = require "certbench.fs"
local rand = require "certbench.rand"
local dir, n, big, bige, smalle, gen = arg[1], tonumber(arg[2]), tonumber(arg[3]), tonumber(arg[4]), tonumber(arg[5]), tonumber(arg[6])
fs.mkdir(dir .. "/www", { parents = true })
fs.mkdir(dir .. "/cas", { parents = true })
local bundle = {}
local now = os.time()
for i = 1, n do
  local kp, cp = ("%s/cas/%d.key"):format(dir, i), ("%s/cas/%d.pem"):format(dir, i)
  local key, cert
  if fs.exists(kp) then
    key = assert(pkey.load(fs.read(kp)))
    cert = assert(x509.load(fs.read(cp)))
  else
    -- the big CRLs are RSA-signed, as the big public ones are; the small ones EC
    key = pkey.generate(i <= big and { type = "rsa", bits = 2048 } or { type = "ec", curve = "P-256" })
    cert = assert(x509.new { subject = ("/O=certbench bench/CN=Bench CA %d"):format(i), issuer_key = key,
      ca = true, days = 365 })
    assert(fs.write(kp, key:to_pem()))
    assert(fs.write(cp, cert:to_pem()))
  end
  bundle[#bundle + 1] = cert:to_pem()
  local count = i <= big and bige or (i % (smalle + 1))
  local entries = {}
  for j = 1, count do
    entries[j] = { serial = ("%08X%08X"):format(i, j), date = now - 86400 - j % 86400,
                   reason = j % 3 == 0 and "keyCompromise" or nil }
  end
  local c = assert(crl.new { issuer = cert, key = key, number = gen, this_update = now - 60 + gen,
    days = 7, entries = entries })
  -- in place, not a new file (see the note on file creation at the top)
  local path, der = ("%s/www/%d.crl"):format(dir, i), c:to_der()
  assert(fs.pwrite(path, 0, der, { sync = false }))
  assert(fs.truncate(path, #der))
end
assert(fs.write(dir .. "/trusted.pem", table.concat(bundle)))
LUA
}

if [ ! -s "$B/trusted.pem" ]; then
  echo "generating $N CAs and CRLs in $B (once)..." >&2
  gen 1
fi
SIZE=$(du -sb "$B/www" | cut -f1)

OUT_BASE=${OUT_BASE:-$B}
OUT="$OUT_BASE/out"
TRASH="$OUT_BASE/old-mirrors"
mkdir -p "$TRASH"
rm -f "$B/port.txt" # a stale port of an earlier run would be read before the server writes
python3 tests/bench/static_server.py "$B/www" > "$B/port.txt" 2>"$B/server.log" &
SRV=$!
trap 'kill $SRV 2>/dev/null; rm -rf "$TRASH"' EXIT
for _ in $(seq 100); do [ -s "$B/port.txt" ] && break; sleep 0.05; done
PORT=$(head -1 "$B/port.txt")
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.05; done

{
  echo "return { ca = { '$B/trusted.pem' }, concurrency = $C, sources = {"
  for i in $(seq "$N"); do echo "  'http://127.0.0.1:$PORT/$i.crl',"; done
  echo "} }"
} > "$B/mirror.conf.lua"
for i in $(seq "$N"); do echo "$i"; done > "$B/ids.txt"

cat > "$B/loop_bundle.sh" <<SH
#!/usr/bin/env bash
# the cron job of today: each source downloaded and verified against the trusted bundle
set -u
mkdir -p "$B/loop"
fail=0
while read -r i; do
  curl -sf -o "$B/loop/\$i.crl" "http://127.0.0.1:$PORT/\$i.crl" &&
    openssl crl -inform DER -in "$B/loop/\$i.crl" -noout -CAfile "$B/trusted.pem" 2>&1 | grep -q "verify OK" || fail=1
done < "$B/ids.txt"
exit \$fail
SH
cat > "$B/loop_own.sh" <<SH
#!/usr/bin/env bash
# the same with each source's own CA: openssl reads one certificate, not $N
set -u
mkdir -p "$B/loop"
fail=0
while read -r i; do
  curl -sf -o "$B/loop/\$i.crl" "http://127.0.0.1:$PORT/\$i.crl" &&
    openssl crl -inform DER -in "$B/loop/\$i.crl" -noout -CAfile "$B/cas/\$i.pem" 2>&1 | grep -q "verify OK" || fail=1
done < "$B/ids.txt"
exit \$fail
SH
cat > "$B/one_own.sh" <<SH
i=\$1
curl -sf -o "$B/loop/\$i.crl" "http://127.0.0.1:$PORT/\$i.crl" &&
  openssl crl -inform DER -in "$B/loop/\$i.crl" -noout -CAfile "$B/cas/\$i.pem" 2>&1 | grep -q "verify OK"
SH
cat > "$B/xargs_own.sh" <<SH
#!/usr/bin/env bash
mkdir -p "$B/loop"
xargs -P $C -n 1 sh "$B/one_own.sh" < "$B/ids.txt"
SH
chmod +x "$B"/*.sh

declare -A T M
record() { # record NAME: parse $B/time.txt
  local t m
  t=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, a, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + a[i]; print s }' "$B/time.txt")
  m=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$B/time.txt")
  if [ -z "${T[$1]:-}" ] || awk -v a="$t" -v b="${T[$1]}" 'BEGIN { exit !(a < b) }'; then T[$1]=$t; fi
  if [ -z "${M[$1]:-}" ] || [ "$m" -lt "${M[$1]}" ]; then M[$1]=$m; fi
}
show() { printf "%-36s %8.3f s %9d KB\n" "$1" "${T[$1]}" "${M[$1]}"; }
timed() { # timed NAME CMD...: one run, recorded
  local name=$1; shift
  /usr/bin/time -v -o "$B/time.txt" "$@" > "$B/out.txt" 2>&1 || { echo "$name failed:" >&2; tail -c 1000 "$B/out.txt" >&2; exit 1; }
  record "$name"
}
DD=
busy_start() { # the neighbour of BUSY_MB: dirty pages still being written when the run starts
  [ "${BUSY_MB:-0}" -gt 0 ] || return 0
  dd if=/dev/zero of="$OUT_BASE/noise" bs=1M count="$BUSY_MB" status=none &
  DD=$!
  sleep 0.2
}
busy_end() { # its data flushed and removed before the next measurement
  [ -n "$DD" ] || return 0
  wait "$DD"; DD=
  rm -f "$OUT_BASE/noise"; sync
}
btimed() { busy_start; timed "$@"; busy_end; }
cat > "$B/mirror.sh" <<SH
#!/usr/bin/env bash
exec "$CB" crl mirror --once --config "$B/mirror.conf.lua" --out-dir "$OUT" --json
SH
chmod +x "$B/mirror.sh"

echo "$N sources ($BIG big ones of $BIG_ENTRIES entries, the rest 0..$SMALL_ENTRIES entries), $SIZE bytes in all; concurrency $C; best of $RUNS"
mkdir -p "$OUT_BASE"
echo "mirror folder on: $(df -T "$OUT_BASE" | awk 'NR == 2 { print $2 " (" $1 ")" }'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)${BUSY_MB:+, dd of $BUSY_MB MB alongside each certbench run}"
gen_no=$(cat "$B/generation" 2>/dev/null || echo 1)
for ((r = 0; r < RUNS; r++)); do
  # moved aside, not deleted (see the note on file creation at the top)
  if [ -e "$OUT" ]; then mv "$OUT" "$TRASH/out.$r.$$"; fi
  btimed "certbench first run" "$B/mirror.sh"
  grep -q '"sources_failed":0' "$B/out.txt" || { echo "the mirror failed:" >&2; head -c 2000 "$B/out.txt" >&2; exit 1; }
  btimed "certbench 304 run" "$B/mirror.sh"
  gen_no=$((gen_no + 1)); gen "$gen_no"
  btimed "certbench changed (all new)" "$B/mirror.sh"
  grep -q "\"crls_published\":$N" "$B/out.txt" || { echo "not every CRL was published again:" >&2; head -c 2000 "$B/out.txt" >&2; exit 1; }
done
show "certbench first run"; show "certbench 304 run"; show "certbench changed (all new)"
if [ "${BASELINE:-1}" = 0 ]; then
  echo "certbench peak RSS: $(( ${M[certbench first run]} / 1024 )) MB first run, $(( ${M[certbench changed (all new)]} / 1024 )) MB changed"
  exit 0
fi
for ((r = 0; r < RUNS; r++)); do
  timed "shell loop, own CA" "$B/loop_own.sh"
  timed "xargs -P $C, own CA" "$B/xargs_own.sh"
  timed "shell loop, bundle" "$B/loop_bundle.sh"
done
show "shell loop, own CA"; show "xargs -P $C, own CA"; show "shell loop, bundle"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }'; }
echo
echo "shell loop (own CA) / certbench first run: $(ratio "${T[shell loop, own CA]}" "${T[certbench first run]}")x   (target >= 10x)"
echo "shell loop (own CA) / certbench changed:   $(ratio "${T[shell loop, own CA]}" "${T[certbench changed (all new)]}")x"
echo "xargs -P $C (own CA) / certbench first run: $(ratio "${T[xargs -P $C, own CA]}" "${T[certbench first run]}")x"
echo "xargs -P $C (own CA) / certbench changed:   $(ratio "${T[xargs -P $C, own CA]}" "${T[certbench changed (all new)]}")x"
echo "shell loop (bundle) / certbench first run: $(ratio "${T[shell loop, bundle]}" "${T[certbench first run]}")x"
echo "certbench peak RSS: $(( ${M[certbench first run]} / 1024 )) MB first run, $(( ${M[certbench changed (all new)]} / 1024 )) MB changed   (target < 100 MB)"
