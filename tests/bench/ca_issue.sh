#!/usr/bin/env bash
# tests/bench/ca_issue.sh: issuing N ECDSA P-256 certificates from pre-made CSRs (a key each),
# certbench against a shell loop of `openssl ca -batch`, in the same run, for N = 1,000 and
# 10,000:
#   certbench issue_many   all N in one call (one lock, one journal record, one append, the syncs);
#                          the signatures (the CSRs' and the certificates') on every core, and
#                          again with CERTBENCH_THREADS=1 (one core)
#   certbench issue (1x1)  ca:issue N times in one process, each durable before it returns
#   openssl loop           `openssl ca -batch -notext` once per CSR (CA key unencrypted, as
#                          certbench's here; openssl ca does not fsync anything)
#   raw x509.new           a Lua loop of x509.new with a fixed key (build + sign, no CSR, no files)
#   raw sign               key:sign over 350 bytes (a TBS certificate's size)
#   csr load+verify        what checking each request costs (part of every issuance)
#   index 0 / 100,000      issue_many of INDEX_M (1,000) and 1x1 of INDEX_M1 (200), and a whole
#                          open+issue as one `certbench ca issue` does, with index.txt empty and
#                          with 100,000 lines; openssl ca too with 100,000 lines (20 CSRs)
# Each measurement runs with the CA folder on the disk of build/ and, when /dev/shm is there,
# on tmpfs (no device: the CPU cost alone). Times are wall-clock per certificate.
# The 10,000 openssl loop is extrapolated from 1,000 unless OPENSSL_FULL=1 (openssl ca rewrites
# index.txt for each certificate, so the real figure is higher).
# Not run by tests/run. Environment: NS ("1000 10000"), FS ("disk tmpfs"), OPENSSL_FULL, DISK (the
# folder for "disk": build/bench/ca_issue, or e.g. an ext4 image mounted on a loop device).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
CB="$ROOT/build/certbench"
[ -x "$CB" ] || { echo "build first: ninja" >&2; exit 1; }
NS=${NS:-"1000 10000"}
FS=${FS:-"disk tmpfs"}
B="$ROOT/build/bench/ca_issue"
mkdir -p "$B"
LUA="$ROOT/tests/bench/ca_issue.lua"

now() { date +%s.%N; }

openssl_ca_setup() { # DIR: a demoCA with an EC P-256 key and a config like certbench's server profile
  local d=$1
  rm -rf "$d" && mkdir -p "$d/newcerts" "$d/private"
  (
    cd "$d"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout private/cakey.pem \
      -out cacert.pem -days 3650 -subj "/C=NO/O=net2/CN=Bench CA" 2>/dev/null
    : > index.txt
    echo 1000 > serial
    sed "s|@DIR@|$d|" "$ROOT/tests/bench/openssl-ca.cnf" > ca.cnf
  )
}

openssl_loop() { # DIR CSRDIR FROM TO -> "wall_seconds cpu_seconds" (cpu: user + system)
  local d=$1 csrs=$2 from=$3 to=$4
  /usr/bin/time -f "%e %U %S" -o "$d/time" bash -c '
    for ((i = '"$from"'; i <= '"$to"'; i++)); do
      openssl ca -batch -notext -config "$0/ca.cnf" -in "$1/csr/$i.pem" -out /dev/null 2>/dev/null \
        || { echo "openssl ca failed on $i" >&2; exit 1; }
    done' "$d" "$csrs"
  awk '{ printf "%s %s\n", $1, $2 + $3 }' "$d/time"
}

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A R
for N in $NS; do
  CSRS="$B/csrs-$N"
  if [ ! -s "$CSRS/csrs.pem" ]; then
    echo "making $N CSRs in $CSRS (once)..." >&2
    mkdir -p "$CSRS"
    OPENSSL_N=$([ "${OPENSSL_FULL:-0}" = 1 ] && echo "$N" || echo 1000) "$CB" run "$LUA" csrs "$CSRS" "$N"
  fi
  for fs in $FS; do
    case $fs in
      disk) W="${DISK:-$B}/work" ;;
      tmpfs) [ -d /dev/shm ] || continue; W="/dev/shm/certbench-ca-bench" ;;
    esac
    rm -rf "$W" && mkdir -p "$W"
    echo "N=$N on $fs: certbench..." >&2
    while read -r k v; do R["$N,$fs,$k"]=$v; done < <("$CB" run "$LUA" run "$CSRS" "$N" "$W")
    while read -r k v; do R["$N,$fs,${k/issue_many/issue_many_1t}"]=$v; done < <(CERTBENCH_THREADS=1 "$CB" run "$LUA" many "$CSRS" "$N" "$W")
    ON=$([ "${OPENSSL_FULL:-0}" = 1 ] && echo "$N" || echo $((N < 1000 ? N : 1000)))
    echo "N=$N on $fs: openssl ca loop of $ON..." >&2
    openssl_ca_setup "$W/openssl"
    read -r s c < <(openssl_loop "$W/openssl" "$CSRS" 1 "$ON")
    R["$N,$fs,openssl"]=$(echo "$s / $ON * 1000000" | bc -l)
    R["$N,$fs,openssl_cpu"]=$(echo "$c / $ON * 1000000" | bc -l)
    R["$N,$fs,openssl_extrapolated"]=$([ "$ON" = "$N" ] && echo 0 || echo 1)
    if [ "$N" = "$(echo $NS | awk '{print $1}')" ]; then
      echo "N=$N on $fs: openssl ca with 100,000 lines in index.txt..." >&2
      python3 - "$W/openssl/index.txt" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(1, 100001):
        f.write("V\t271128005541Z\t\t%X\tunknown\t/C=NO/O=net2/CN=filler.example.com\n" % (0x10000000 + i))
PY
      printf '%X\n' $((0x10000000 + 100001)) > "$W/openssl/serial"
      read -r s c < <(openssl_loop "$W/openssl" "$CSRS" 1 20)
      R["$N,$fs,openssl_index100000"]=$(echo "$s / 20 * 1000000" | bc -l)
      R["$N,$fs,openssl_index100000_cpu"]=$(echo "$c / 20 * 1000000" | bc -l)
    fi
    rm -rf "$W"
  done
done

fmt() { printf '%10.1f' "${1:-0}"; }
ratio() { echo "${1:-0} / ${2:-1}" | bc -l | xargs printf '%8.2f'; }
echo
echo "per-certificate time in microseconds, wall clock and CPU (user+system, all threads), ECDSA P-256, CSRs made beforehand"
echo "threads: $(CERTBENCH_THREADS= nproc) CPUs; load average before the run: $LOAD0"
for N in $NS; do
  for fs in $FS; do
    [ -n "${R[$N,$fs,issue_many]:-}" ] || continue
    g() { echo "${R[$N,$fs,$1]:-}"; }
    row() { printf '  %-34s %s %s%s\n' "$1" "$(fmt "$(g "$2")")" "$(fmt "$(g "$2"_cpu)")" "${3:-}"; }
    echo
    echo "== N=$N, CA folder on $fs                     wall        cpu"
    row "certbench issue_many" issue_many
    row "certbench issue_many, one thread" issue_many_1t
    row "certbench issue, one by one" issue_one
    row "openssl ca -batch loop" openssl "$([ "$(g openssl_extrapolated)" = 1 ] && echo "   (the 1,000 loop's figure, extrapolated)")"
    row "raw x509.new (fixed key)" raw_x509_new
    row "raw key:sign (350 bytes)" raw_sign
    row "csr load + verify" csr_load_verify
    row "index 0: issue_many" index0_many
    row "index 100,000: issue_many" index100000_many
    row "index 0: issue 1x1" index0_one
    row "index 100,000: issue 1x1" index100000_one
    row "index 0: open + issue" index0_open_issue
    row "index 100,000: open + issue" index100000_open_issue
    [ -n "$(g openssl_index100000)" ] && row "openssl ca, index 100,000" openssl_index100000
    echo "  ratios (wall, cpu):"
    rr() { printf '    %-44s %s %s%s\n' "$1" "$(ratio "$(g "$2")" "$(g "$3")")" "$(ratio "$(g "$2"_cpu)" "$(g "$3"_cpu)")" "${4:-}"; }
    rr "openssl loop / issue_many" openssl issue_many "  (target >= 50)"
    rr "openssl loop / issue_many, one thread" openssl issue_many_1t
    rr "openssl loop / issue 1x1" openssl issue_one
    rr "issue_many / raw x509.new" issue_many raw_x509_new "  (target <= 3)"
    rr "issue_many / raw key:sign" issue_many raw_sign
    rr "issue_many, one thread / raw x509.new" issue_many_1t raw_x509_new
    rr "issue_many, index 100,000 / 0" index100000_many index0_many "  (target <= 1.25)"
    rr "issue 1x1, index 100,000 / 0" index100000_one index0_one "  (target <= 1.25)"
    rr "open + issue, index 100,000 / 0" index100000_open_issue index0_open_issue
  done
done
