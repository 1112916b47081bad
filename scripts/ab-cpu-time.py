#!/usr/bin/env python3
"""CPU time of `spillway run` for several binaries, side by side, alternated.

    scripts/ab-cpu-time.py RUNS SCENARIO BINARY [BINARY...] [-- RUN-ARGUMENTS...]

Each round runs every binary once, back to back, on the same scenario (`--jobs 1 -q --format
json`, output discarded) and takes its CPU time (user + system, from the process's resource
usage: what `perf stat -e task-clock` reports, without needing perf). Prints, for each binary,
the median, minimum and maximum over the rounds and, against the first binary, the ratio of
the medians and the median of the per-round ratios (each round's binaries run within a second
of each other, so the per-round ratio cancels most of a shared machine's drift). A ratio above
1 means the binary is faster than the first. Example (README, speed section):

    scripts/ab-cpu-time.py 21 scenarios/bench-100k-sessions.toml OLD/spillway target/release/spillway
    scripts/ab-cpu-time.py 9 scenarios/bench-100k-sessions.toml OLD/spillway target/release/spillway \\
        -- --set 'models."gpt-4o-mini".speed_curve=[[1.0, 1.0], [100.0, 0.85]]'
"""

import os
import statistics
import subprocess
import sys


def cpu_ms(binary, scenario, extra):
    """Runs one binary once; returns its CPU time in milliseconds."""
    cmd = [binary, "run", scenario, "--jobs", "1", "-q", "--format", "json", *extra]
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError as e:
        sys.exit(f"ab-cpu-time: cannot run {binary}: {e.strerror}")
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"ab-cpu-time: {' '.join(cmd)} failed (exit {os.waitstatus_to_exitcode(status)})")
    return (usage.ru_utime + usage.ru_stime) * 1e3


def main(argv):
    extra = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1 :]
    if len(argv) < 3 or not argv[0].isdigit() or int(argv[0]) < 1:
        sys.exit(__doc__.strip())
    runs, scenario, binaries = int(argv[0]), argv[1], argv[2:]
    times = {b: [] for b in binaries}
    for _ in range(runs):
        for b in binaries:
            times[b].append(cpu_ms(b, scenario, extra))
    first = binaries[0]
    base = statistics.median(times[first])
    for b in binaries:
        t = times[b]
        med = statistics.median(t)
        paired = statistics.median(x / y for x, y in zip(times[first], t))
        print(
            f"{b}: median {med:.1f} ms (min {min(t):.1f}, max {max(t):.1f}, n={len(t)}); "
            f"vs {first}: {base / med:.3f}x on the medians, {paired:.3f}x per round"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
