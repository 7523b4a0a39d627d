#!/usr/bin/env bash
# tests/bench/crl_stream.sh: memory independent of CRL size and count (issue 16, item 4). Four
# CAs, each with a CRL of SIZE bytes (default 200 MB, about 5 million entries; made once by
# spec/support/big_crl.py, cached in build/bench/crl_stream/), served from 127.0.0.1 by
# tests/bench/static_server.py. Peak RSS (/usr/bin/time -v) and wall time, best of $RUNS, of:
#   crl mirror      four sources at once (one per CA), first run: every CRL downloaded,
#                   verified and published
#   crl fetch       the four URLs, verified with --ca, written to a folder
#   crl diff        two versions of one CRL (a 2% of entries removed, 1000 added)
#   crl info --ca   one CRL verified, and `openssl crl -noout -CAfile` on it (the peer)
#   show --entries  every entry of one CRL printed (to /dev/null)
#   PEM             the same CRL as PEM (openssl crl -outform PEM): crl fetch of its URL, and
#                   crl info --ca beside openssl crl on it, show --entries
#   gzip            the CRL gzipped, in two gzip members (`cat a.gz b.gz`) and as a gzipped
#                   PEM: crl info --ca (beside gzip -dc | openssl crl) and show --entries
# With BEFORE=/path/to/another/certbench (a build of an older commit), its figures are printed
# beside. Not run by tests/run. Environment: SIZE (bytes, 200000000), RUNS (1), BEFORE.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SIZE=${SIZE:-200000000}
RUNS=${RUNS:-1}
CB="$ROOT/build/certbench"
[ -x "$CB" ] || { echo "build first: ninja" >&2; exit 1; }
B="$ROOT/build/bench/crl_stream/s$SIZE"
mkdir -p "$B/www" "$B/cas"

if [ ! -s "$B/www/4.crl" ]; then
  echo "generating four CRLs of $SIZE bytes in $B (once)..." >&2
  for i in 1 2 3 4; do
    python3 spec/support/big_crl.py "$B/cas/$i" "$B/www/$i.crl" "$SIZE" --number 1 --name "Stream CA $i" >/dev/null
  done
  python3 spec/support/big_crl.py "$B/cas/1" "$B/new1.crl" "$SIZE" --number 2 --drop 50 --extra 1000 >/dev/null
fi
[ -s "$B/www/p1.pem" ] || openssl crl -inform DER -in "$B/www/1.crl" -outform PEM -out "$B/www/p1.pem"
# gzip forms: one member, two members (`cat a.gz b.gz`: the CRL cut in two), a gzipped PEM
[ -s "$B/www/g1.crl.gz" ] || gzip -c "$B/www/1.crl" > "$B/www/g1.crl.gz"
if [ ! -s "$B/www/m1.crl.gz" ]; then
  half=$(( $(stat -c %s "$B/www/1.crl") / 2 ))
  { head -c "$half" "$B/www/1.crl" | gzip -c; tail -c +$((half + 1)) "$B/www/1.crl" | gzip -c; } > "$B/www/m1.crl.gz"
fi
[ -s "$B/www/p1.pem.gz" ] || gzip -c "$B/www/p1.pem" > "$B/www/p1.pem.gz"
cat "$B"/cas/*/ca.pem > "$B/trusted.pem"

rm -f "$B/port.txt"
python3 tests/bench/static_server.py "$B/www" > "$B/port.txt" 2>"$B/server.log" &
SRV=$!
trap 'kill $SRV 2>/dev/null' EXIT
for _ in $(seq 600); do [ -s "$B/port.txt" ] && break; sleep 0.05; done
PORT=$(head -1 "$B/port.txt")
for _ in $(seq 600); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.05; done
# the server reads a file on its first request: ask for each once before measuring
for i in 1 2 3 4; do curl -sf -o /dev/null "http://127.0.0.1:$PORT/$i.crl"; done
curl -sf -o /dev/null "http://127.0.0.1:$PORT/p1.pem"

{
  echo "return { ca = { '$B/trusted.pem' }, sources = {"
  for i in 1 2 3 4; do echo "  'http://127.0.0.1:$PORT/$i.crl',"; done
  echo "} }"
} > "$B/mirror.conf.lua"

declare -A T M
measure() { # measure NAME CMD...: best wall time and peak RSS of RUNS runs
  local name=$1; shift
  local i
  for ((i = 0; i < RUNS; i++)); do
    rm -rf "$B/out"
    local t0=$EPOCHREALTIME
    /usr/bin/time -v -o "$B/time.txt" "$@" > "$B/out.txt" 2>&1 || { echo "$name failed:" >&2; tail -c 1500 "$B/out.txt" >&2; exit 1; }
    local t1=$EPOCHREALTIME t m
    t=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    m=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$B/time.txt")
    if [ -z "${T[$name]:-}" ] || awk -v a="$t" -v b="${T[$name]}" 'BEGIN { exit !(a < b) }'; then T[$name]=$t; fi
    if [ -z "${M[$name]:-}" ] || [ "$m" -lt "${M[$name]}" ]; then M[$name]=$m; fi
  done
  printf "%-40s %8.2f s %8d MB\n" "$name" "${T[$name]}" $(( ${M[$name]} / 1024 ))
}

runs() { # runs LABEL BINARY
  local l=$1 cb=$2 urls=()
  for i in 1 2 3 4; do urls+=("http://127.0.0.1:$PORT/$i.crl"); done
  measure "$l crl mirror (4 sources)" "$cb" crl mirror --once --config "$B/mirror.conf.lua" --out-dir "$B/out" --json
  grep -q '"crls_published":4' "$B/out.txt" || { echo "$l: the mirror did not publish the four CRLs:" >&2; head -c 1500 "$B/out.txt" >&2; exit 1; }
  measure "$l crl fetch (4 URLs)" "$cb" crl fetch --ca "$B/trusted.pem" --out-dir "$B/out" --format der "${urls[@]}"
  [ "$(ls "$B/out"/*.crl | wc -l)" = 4 ] || { echo "$l: crl fetch did not write the four CRLs" >&2; exit 1; }
  measure "$l crl diff" "$cb" crl diff "$B/www/1.crl" "$B/new1.crl"
  grep -q "^added 1000, removed " "$B/out.txt" || { echo "$l: crl diff:" >&2; head -3 "$B/out.txt" >&2; exit 1; }
  measure "$l crl info --ca" "$cb" crl info --ca "$B/cas/1/ca.pem" "$B/www/1.crl"
  grep -q "verifies:     yes" "$B/out.txt" || { echo "$l: crl info did not verify" >&2; exit 1; }
  measure "$l show --entries" sh -c "\"$cb\" show --entries \"$B/www/1.crl\" > /dev/null"
  # the same CRL in PEM: decoded to a temporary file in pieces, then scanned
  measure "$l crl fetch (1 PEM URL)" "$cb" crl fetch --ca "$B/trusted.pem" --max-size $((SIZE * 2)) --out-dir "$B/out" --format der "http://127.0.0.1:$PORT/p1.pem"
  cmp -s "$B/out"/*.crl "$B/www/1.crl" || { echo "$l: crl fetch of the PEM did not write the served CRL" >&2; exit 1; }
  measure "$l crl info --ca (PEM)" "$cb" crl info --ca "$B/cas/1/ca.pem" "$B/www/p1.pem"
  grep -q "verifies:     yes" "$B/out.txt" || { echo "$l: crl info did not verify the PEM" >&2; exit 1; }
  measure "$l show --entries (PEM)" sh -c "\"$cb\" show --entries \"$B/www/p1.pem\" > /dev/null"
  # gzip forms: inflated as they are read, a gzipped PEM decoded as it inflates, then scanned
  local f
  for f in g1.crl.gz m1.crl.gz p1.pem.gz; do
    measure "$l crl info --ca ($f)" "$cb" crl info --ca "$B/cas/1/ca.pem" "$B/www/$f"
    grep -q "verifies:     yes" "$B/out.txt" || { echo "$l: crl info did not verify $f" >&2; exit 1; }
    measure "$l show --entries ($f)" sh -c "\"$cb\" show --entries \"$B/www/$f\" > /dev/null"
  done
}

echo "four CRLs of $(stat -c %s "$B/www/1.crl") bytes ($(python3 -c "print(round($(stat -c %s "$B/www/1.crl") / 39.67))") entries each, about); best of $RUNS; $(nproc) cores"
measure "openssl crl -noout -CAfile (one CRL)" openssl crl -inform DER -in "$B/www/1.crl" -noout -CAfile "$B/cas/1/ca.pem"
measure "openssl crl -noout -CAfile (PEM)" openssl crl -in "$B/www/p1.pem" -noout -CAfile "$B/cas/1/ca.pem"
measure "gzip -dc | openssl crl (g1.crl.gz)" sh -c "gzip -dc \"$B/www/g1.crl.gz\" | openssl crl -inform DER -noout -CAfile \"$B/cas/1/ca.pem\""
# (inflated to a file, then read: openssl 3 reading a big PEM from a pipe took minutes of CPU)
measure "gzip -dc | openssl crl (p1.pem.gz)" sh -c "gzip -dc \"$B/www/p1.pem.gz\" > \"$B/dec.pem\" && openssl crl -in \"$B/dec.pem\" -noout -CAfile \"$B/cas/1/ca.pem\"; rm -f \"$B/dec.pem\""
runs certbench "$CB"
if [ -n "${BEFORE:-}" ]; then runs before "$BEFORE"; fi

echo
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
for k in "crl mirror (4 sources)" "crl fetch (4 URLs)"; do
  echo "certbench $k: peak RSS $(( ${M[certbench $k]} / 1024 )) MB   (target: < 100 MB)"
done
echo "certbench crl info --ca / openssl crl: time $(ratio "${T[certbench crl info --ca]}" "${T[openssl crl -noout -CAfile (one CRL)]}")x, peak RSS $(ratio "${M[certbench crl info --ca]}" "${M[openssl crl -noout -CAfile (one CRL)]}")x"
echo "certbench crl info --ca (PEM) / openssl crl (PEM): time $(ratio "${T[certbench crl info --ca (PEM)]}" "${T[openssl crl -noout -CAfile (PEM)]}")x, peak RSS $(ratio "${M[certbench crl info --ca (PEM)]}" "${M[openssl crl -noout -CAfile (PEM)]}")x"
echo "certbench crl info --ca (g1.crl.gz) / gzip -dc | openssl crl: time $(ratio "${T[certbench crl info --ca (g1.crl.gz)]}" "${T[gzip -dc | openssl crl (g1.crl.gz)]}")x, peak RSS $(ratio "${M[certbench crl info --ca (g1.crl.gz)]}" "${M[gzip -dc | openssl crl (g1.crl.gz)]}")x (of openssl alone: /usr/bin/time measures the shell's largest child)"
echo "certbench crl info --ca (p1.pem.gz) / gzip -dc | openssl crl: time $(ratio "${T[certbench crl info --ca (p1.pem.gz)]}" "${T[gzip -dc | openssl crl (p1.pem.gz)]}")x, peak RSS $(ratio "${M[certbench crl info --ca (p1.pem.gz)]}" "${M[gzip -dc | openssl crl (p1.pem.gz)]}")x"
if [ -n "${BEFORE:-}" ]; then
  for k in "crl mirror (4 sources)" "crl fetch (4 URLs)" "crl diff" "crl info --ca" "show --entries"; do
    echo "$k: peak RSS before/after $(( ${M[before $k]} / 1024 )) MB / $(( ${M[certbench $k]} / 1024 )) MB, time $(ratio "${T[before $k]}" "${T[certbench $k]}")x faster"
  done
fi
