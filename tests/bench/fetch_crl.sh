#!/usr/bin/env bash
# tests/bench/fetch_crl.sh: `certbench crl mirror --igtf-dir` side by side with fetch-crl (the
# Debian package, `third_party/install-deps bench`) on the same IGTF trust folder and the same
# loopback server (tests/bench/static_server.py: files in memory, ETag, Last-Modified, 304), in
# one run of this script (issue 16, item 8).
# The folder is laid out as the Debian fetch-crl / ca-policy packages lay it out: N CAs (default
# 200); odd ones as <alias>.pem with <hash>.0 a symbolic link to it and <alias>.info with a
# `crl_url`, even ones as <hash>.0 with <hash>.crl_url. BIG of them (4) have CRLs of BIG_ENTRIES
# (150,000) entries, RSA-signed; the others 0..SMALL_ENTRIES (20) entries, EC-signed.
#   first run       an empty output folder and no state: every CRL downloaded, verified, written
#   unchanged run   the same again with the state of the first: nothing changed on the server
# Both write what an OpenSSL CApath needs with both hash styles: fetch-crl its default (formats
# openssl, opensslmode dual: <hash>.r0 and <old-hash>.r0), certbench --hash-names new,old (DER,
# PEM, <hash>.r0 and <old-hash>.r0 links, the CAs as <hash>.0). fetch-crl runs -p PAR (8) and
# certbench --concurrency PAR.
# Measured: wall time and peak RSS from /usr/bin/time -v (the largest single process of the tree:
# for fetch-crl, which forks workers that each run the openssl CLI, that understates it), and
# the peak of the summed RSS of the whole process tree (tests/bench/tree_rss.py, 10 ms samples).
# fetch-crl runs RUNS (1) times, certbench CB_RUNS (5) times before, between and after them (the
# machine's load changes over fetch-crl's minutes): medians. Not run by tests/run.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
N=${N:-200}
BIG=${BIG:-4}
BIG_ENTRIES=${BIG_ENTRIES:-150000}
SMALL_ENTRIES=${SMALL_ENTRIES:-20}
PAR=${PAR:-8}
RUNS=${RUNS:-1}
CB="$ROOT/build/certbench"
[ -x "$CB" ] || { echo "build first: ninja" >&2; exit 1; }
command -v fetch-crl >/dev/null || { echo "fetch-crl is not installed: third_party/install-deps bench" >&2; exit 1; }
B="$ROOT/build/bench/fetch_crl/n$N-b$BIG-e$BIG_ENTRIES"
mkdir -p "$B"

if [ ! -s "$B/cas.txt" ]; then
  echo "generating $N CAs and CRLs in $B (once)..." >&2
  "$CB" run - "$B" "$N" "$BIG" "$BIG_ENTRIES" "$SMALL_ENTRIES" <<'LUA'
local pkey = require "certbench.pkey"
local x509 = require "certbench.x509"
local crl = require "certbench.crl"
local fs = require "certbench.fs"
local dir, n, big, bige, smalle = arg[1], tonumber(arg[2]), tonumber(arg[3]), tonumber(arg[4]), tonumber(arg[5])
fs.mkdir(dir .. "/www", { parents = true })
fs.mkdir(dir .. "/cas", { parents = true })
local now = os.time()
local list = {}
for i = 1, n do
  -- the big CRLs are RSA-signed, as the big public ones are; the small ones EC
  local key = pkey.generate(i <= big and { type = "rsa", bits = 2048 } or { type = "ec", curve = "P-256" })
  local cert = assert(x509.new { subject = ("/O=certbench bench/CN=IGTF Bench CA %d"):format(i),
    issuer_key = key, ca = true, days = 365 })
  assert(fs.write(("%s/cas/%d.pem"):format(dir, i), cert:to_pem()))
  local count = i <= big and bige or (i % (smalle + 1))
  local entries = {}
  for j = 1, count do
    entries[j] = { serial = ("%08X%08X"):format(i, j), date = now - 86400 - j % 86400,
                   reason = j % 3 == 0 and "keyCompromise" or nil }
  end
  local c = assert(crl.new { issuer = cert, key = key, number = 1, this_update = now - 60, days = 30,
    entries = entries })
  assert(fs.write(("%s/www/%d.crl"):format(dir, i), c:to_der()))
  list[#list + 1] = ("%d %s\n"):format(i, cert:subject():hash())
end
assert(fs.write(dir .. "/cas.txt", table.concat(list)))
LUA
fi
SIZE=$(du -sb "$B/www" | cut -f1)

rm -f "$B/port.txt" # a stale port of an earlier run would be read before the server writes
python3 tests/bench/static_server.py "$B/www" > "$B/port.txt" 2>"$B/server.log" &
SRV=$!
trap 'kill $SRV 2>/dev/null' EXIT
for _ in $(seq 100); do [ -s "$B/port.txt" ] && break; sleep 0.05; done
PORT=$(head -1 "$B/port.txt")
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.05; done

# the trust folder, with this run's port in its URLs
IGTF="$B/grid-security-certificates"
rm -rf "$IGTF"
mkdir -p "$IGTF"
while read -r i hash; do
  if [ $((i % 2)) = 1 ]; then
    alias="IGTF-Bench-$i"
    cp "$B/cas/$i.pem" "$IGTF/$alias.pem"
    ln -s "$alias.pem" "$IGTF/$hash.0"
    printf 'alias = %s\nversion = 1.%d\nca_url = http://127.0.0.1:%s/ca/%d.pem\ncrl_url = http://127.0.0.1:%s/%d.crl\nemail = ca-%d@example.org\nstatus = accredited:classic\nurl = https://example.org/ca/%d\nsha1fp.0 = 00\nsubjectdn = "/O=certbench bench/CN=IGTF Bench CA %d"\n' \
      "$alias" "$i" "$PORT" "$i" "$PORT" "$i" "$i" "$i" "$i" > "$IGTF/$alias.info"
  else
    cp "$B/cas/$i.pem" "$IGTF/$hash.0"
    echo "http://127.0.0.1:$PORT/$i.crl" > "$IGTF/$hash.crl_url"
  fi
done < "$B/cas.txt"

# fetch-crl's own configuration only: not /etc/fetch-crl.conf nor /etc/fetch-crl.d
cat > "$B/fetch-crl.conf" <<CONF
infodir = $IGTF
cfgdir =
agingtolerance = 24
parallelism = $PAR
formats = openssl
opensslmode = dual
nosymlinks
CONF

declare -A T M S
record() { # record NAME: append this run's wall time and RSS figures (time.txt, tree.txt)
  local t m
  t=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, a, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + a[i]; print s }' "$B/time.txt")
  m=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$B/time.txt")
  T[$1]="${T[$1]:-} $t"; M[$1]="${M[$1]:-} $m"; S[$1]="${S[$1]:-} $(cat "$B/tree.txt")"
}
median() { printf '%s\n' $1 | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
timed() { # timed NAME CMD...: one run, recorded
  local name=$1; shift
  python3 tests/bench/tree_rss.py "$B/tree.txt" /usr/bin/time -v -o "$B/time.txt" "$@" > "$B/out.txt" 2>&1 || {
    echo "$name failed:" >&2; tail -c 2000 "$B/out.txt" >&2; exit 1; }
  record "$name"
}
show() { printf "%-28s %9.3f s %9d KB %9d KB   (%s s)\n" "$1" "$(median "${T[$1]}")" "$(median "${M[$1]}")" "$(median "${S[$1]}")" "$(echo ${T[$1]})"; }
tm() { median "${T[$1]}"; }
mm() { median "${M[$1]}"; }
sm() { median "${S[$1]}"; }

echo "$N CAs ($BIG CRLs of $BIG_ENTRIES entries, the rest 0..$SMALL_ENTRIES), $SIZE bytes of CRLs; parallelism $PAR"
echo "$(dpkg-query -W -f='fetch-crl ${Version}' fetch-crl), $(openssl version | cut -d' ' -f1-2); $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
# fetch-crl takes minutes a run, certbench a second: fetch-crl RUNS (1) times, certbench
# CB_RUNS (5) times between them, the figures the median of each
cb_runs() {
  for ((c = 0; c < CB_RUNS; c++)); do
    rm -rf "$B/cb-out"
    timed "certbench first run" "$CB" --json crl mirror --igtf-dir "$IGTF" --out-dir "$B/cb-out" --hash-names new,old --concurrency "$PAR"
    grep -q "\"crls_published\":$N[,}]" "$B/out.txt" || { echo "certbench did not publish $N CRLs:" >&2; head -c 2000 "$B/out.txt" >&2; exit 1; }
    timed "certbench unchanged run" "$CB" --json crl mirror --igtf-dir "$IGTF" --out-dir "$B/cb-out" --hash-names new,old --concurrency "$PAR"
    grep -q '"crls_published":0[,}]' "$B/out.txt" || { echo "certbench published again on an unchanged run:" >&2; head -c 2000 "$B/out.txt" >&2; exit 1; }
  done
}
CB_RUNS=${CB_RUNS:-5}
for ((r = 0; r < RUNS; r++)); do
  cb_runs
  rm -rf "$B/fc-out" "$B/fc-state"
  mkdir -p "$B/fc-out" "$B/fc-state"
  timed "fetch-crl first run" fetch-crl -c "$B/fetch-crl.conf" -l "$IGTF" -o "$B/fc-out" -s "$B/fc-state" -p "$PAR"
  # dual mode: each CRL as <hash>.r0 and <old-hash>.r0; fetch-crl says nothing when all went well
  n_fc=$(find "$B/fc-out" -name '*.r0' | wc -l)
  [ "$n_fc" = $((2 * N)) ] && [ ! -s "$B/out.txt" ] || { echo "fetch-crl wrote $n_fc .r0 files for $N CAs:" >&2; head -c 2000 "$B/out.txt" >&2; exit 1; }
  cb_runs
  timed "fetch-crl unchanged run" fetch-crl -c "$B/fetch-crl.conf" -l "$IGTF" -o "$B/fc-out" -s "$B/fc-state" -p "$PAR"
  [ ! -s "$B/out.txt" ] || { echo "fetch-crl unchanged run:" >&2; head -c 2000 "$B/out.txt" >&2; exit 1; }
done
cb_runs
echo "load at the end $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-28s %11s %12s %12s   %s\n' "(medians)" "wall" "peak RSS" "tree RSS" "(each run)"
show "fetch-crl first run"; show "certbench first run"
show "fetch-crl unchanged run"; show "certbench unchanged run"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }'; }
ratio2() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
echo
echo "first run:     certbench $(ratio "$(tm "fetch-crl first run")" "$(tm "certbench first run")")x faster than fetch-crl -p $PAR   (target 55x)"
echo "unchanged run: certbench $(ratio "$(tm "fetch-crl unchanged run")" "$(tm "certbench unchanged run")")x faster   (target 340x)"
echo "peak RSS, certbench / fetch-crl: first run $(ratio2 "$(mm "certbench first run")" "$(mm "fetch-crl first run")")x (largest process), $(ratio2 "$(sm "certbench first run")" "$(sm "fetch-crl first run")")x (whole tree); unchanged $(ratio2 "$(mm "certbench unchanged run")" "$(mm "fetch-crl unchanged run")")x, $(ratio2 "$(sm "certbench unchanged run")" "$(sm "fetch-crl unchanged run")")x   (target 0.4x)"
