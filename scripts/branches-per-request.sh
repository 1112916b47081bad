#!/usr/bin/env bash
# Mispredicted branches and L1 data-cache misses per simulated request, from cachegrind's
# simulation of a branch predictor and of the caches: repeatable, like callgrind's instruction
# counts, but a simple model of a CPU, not a measurement of this one. Its predictor is a table
# indexed by branch addresses, so moving code (any change) can move its counts by about one
# per request through aliasing, and a loop with a fixed small trip count counts as
# mispredicted at every exit, which a real CPU predicts. Use it to find candidates (a branch on
# data with a coin-toss outcome), then keep a change only if CPU time, alternated with the old
# binary (scripts/ab-cpu-time.py), says so.
#
#   scripts/branches-per-request.sh [BINARY] SCENARIO [spillway run arguments...]
#
# Same arguments as scripts/callgrind-per-request.sh. Instructions are not the whole cost of a
# run: a branch the CPU cannot predict (which event comes next, whether a drawn value rounds up,
# how many events a wheel bucket holds) costs ~15-20 cycles each time it goes the other way, and
# removing a few of them per request moved wall time more than removing tens of instructions
# (README, speed section). Prints the requests simulated, then instructions, conditional and
# indirect branches mispredicted and L1 data misses, each per request. TOP=N adds the N source
# lines with the most mispredicted conditional branches; CG_OUT=FILE keeps the profile for
# `cg_annotate --show=Bcm,Bim,D1mr`.
#
#   scripts/branches-per-request.sh scenarios/bench-100k-sessions.toml --set workload.sessions=10000
set -euo pipefail

# shellcheck source=scripts/per-request-lib.sh
source "$(dirname "$0")/per-request-lib.sh"
per_request_run branches-per-request 2,21 cachegrind "$@" -- --cache-sim=yes --branch-sim=yes
cg_annotate --show=Bcm,Bim,D1mr,Ir --sort=Bcm --auto=yes "$out" 2>/dev/null >"$work/ann.txt"
python3 - "$requests" "$work/ann.txt" "${TOP:-0}" <<'PY'
import re, sys

requests, ann, top = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
num = r"([\d,]+)(?:\s+\(\s*[\d.]+%\))?"
totals = None
lines = []
source = None
for line in open(ann):
    if "PROGRAM TOTALS" in line:
        totals = [int(x.replace(",", "")) for x in re.findall(r"([\d,]+)\s+\(", line)]
        continue
    m = re.match(r"-- Auto-annotated source: (.*)", line)
    if m:
        source = m.group(1).split("/src/")[-1]
        continue
    m = re.match(r"\s*" + r"\s+".join([num] * 4) + r"\s+(.*)$", line)
    if source and m and "=>" not in line and "events annotated" not in line:
        lines.append((int(m.group(1).replace(",", "")), source, m.group(5).strip()))
bcm, bim, d1mr, ir = totals
print(f"requests                       {requests}")
print(f"instructions                   {ir / requests:8.0f} per request")
print(f"mispredicted cond. branches    {bcm / requests:8.2f} per request")
print(f"mispredicted indirect jumps    {bim / requests:8.2f} per request")
print(f"L1 data read misses            {d1mr / requests:8.2f} per request")
if top:
    print(f"top {top} source lines by mispredicted conditional branches:")
    for n, source, text in sorted(lines, reverse=True)[:top]:
        print(f"{n / requests:6.2f}/req  {source[:40]:40s} {text[:80]}")
PY
