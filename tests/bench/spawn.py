"""tests/bench/spawn.py: the one way the benchmarks time a whole process (startup.sh,
ca_issue_sync.sh): posix_spawn with stdout and stderr to /dev/null, so the time is the
program's and not a shell's or a pipe reader's; a failing command ends the benchmark."""
import os
import sys
import time

_null = os.open(os.devnull, os.O_WRONLY)


def spawn(argv):
    """Runs argv to its end and returns the wall time in seconds; exits on a non-zero status."""
    t = time.perf_counter()
    pid = os.posix_spawnp(argv[0], argv, os.environ,
                          file_actions=[(os.POSIX_SPAWN_DUP2, _null, 1), (os.POSIX_SPAWN_DUP2, _null, 2)])
    _, st = os.waitpid(pid, 0)
    dt = time.perf_counter() - t
    if os.waitstatus_to_exitcode(st) != 0:
        sys.exit("failed (%d): %s" % (os.waitstatus_to_exitcode(st), " ".join(argv)))
    return dt
