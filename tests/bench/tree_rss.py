#!/usr/bin/env python3
"""tree_rss.py OUTFILE CMD...: runs CMD and samples, every 10 ms, the resident size summed over
CMD and all its descendants (from /proc/PID/task/TID/children), then writes the peak in KB to
OUTFILE and exits with CMD's status. /usr/bin/time -v reports the largest single process of a
tree (ru_maxrss of the waited children is a maximum, not a sum), which understates a program
that forks workers and runs a CLI per file, as fetch-crl -p does; this is the sum a machine
actually pays. A 10 ms sample misses peaks shorter than that: a lower bound."""
import os
import subprocess
import sys
import time

PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def descendants(pid):
    out, pending = [], [pid]
    while pending:
        p = pending.pop()
        out.append(p)
        try:
            for tid in os.listdir("/proc/%d/task" % p):
                with open("/proc/%d/task/%s/children" % (p, tid)) as f:
                    pending.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return out


def rss_kb(pid):
    try:
        with open("/proc/%d/statm" % pid) as f:
            return int(f.read().split()[1]) * PAGE_KB
    except (OSError, IndexError, ValueError):
        return 0


def main():
    outfile, cmd = sys.argv[1], sys.argv[2:]
    child = subprocess.Popen(cmd)
    peak = 0
    while child.poll() is None:
        peak = max(peak, sum(rss_kb(p) for p in descendants(child.pid)))
        time.sleep(0.01)
    with open(outfile, "w") as f:
        f.write("%d\n" % peak)
    sys.exit(child.returncode)


main()
