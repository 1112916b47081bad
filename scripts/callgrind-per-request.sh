#!/usr/bin/env bash
# Instructions per simulated request, counted by callgrind (stable on a busy machine, unlike
# wall-clock time).
#
#   scripts/callgrind-per-request.sh [BINARY] SCENARIO [spillway run arguments...]
#
# BINARY defaults to target/release/spillway (build it first: `cargo build --release`; the
# release profile keeps debug info, so the profile names functions and lines). Examples:
#
#   # the bench scenario cut to 10,000 sessions (100,000 requests):
#   scripts/callgrind-per-request.sh scenarios/bench-100k-sessions.toml \
#       --set workload.sessions=10000
#   # the same with a concurrency-dependent decode speed (the processor-sharing path):
#   scripts/callgrind-per-request.sh scenarios/bench-100k-sessions.toml \
#       --set workload.sessions=10000 --set 'models."gpt-4o-mini".speed_curve=[[1.0, 1.0], [100.0, 0.85]]'
#   # a gateway scenario and a PTU scenario:
#   scripts/callgrind-per-request.sh scenarios/gateway-strategies.toml --variant round-robin
#   scripts/callgrind-per-request.sh scenarios/timeouts-to-triumph.toml \
#       --variant token-cap-streaming-spillover
#
# Prints the requests simulated, the instructions of the whole process and of the engine's run
# alone (Engine::run, inclusive: no parsing or output), each per request. Set TOP=N to also
# print the N most expensive functions (exclusive instructions); CG_OUT=FILE keeps the profile.
set -euo pipefail

# shellcheck source=scripts/per-request-lib.sh
source "$(dirname "$0")/per-request-lib.sh"
per_request_run callgrind-per-request 2,22 callgrind "$@" --
callgrind_annotate --tree=none --auto=no --threshold=100 "$out" 2>/dev/null >"$work/self.txt"
callgrind_annotate --inclusive=yes --auto=no --threshold=100 "$out" 2>/dev/null >"$work/incl.txt"
python3 - "$requests" "$work/self.txt" "$work/incl.txt" "${TOP:-0}" <<'PY'
import collections, re, sys

requests, self_file, incl_file, top = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
line_re = re.compile(r"\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.*)$")


def rows(path):
    """(instructions, function) per line; inlined code is listed under its source file."""
    for line in open(path):
        m = line_re.match(line)
        if m:
            rest = re.sub(r"\s*\[[^\]]*\]\s*$", "", m.group(2))
            yield int(m.group(1).replace(",", "")), rest.split(":", 1)[-1]


total = next(n for n, f in rows(self_file) if "PROGRAM TOTALS" in f)
engine = max((n for n, f in rows(incl_file) if f == "spillway::engine::Engine::run"), default=0)
print(f"requests               {requests}")
print(f"instructions (total)   {total}  ({total / requests:.0f} per request)")
print(f"instructions (engine)  {engine}  ({engine / requests:.0f} per request)")
if top:
    by_fn = collections.Counter()
    for n, f in rows(self_file):
        if "PROGRAM TOTALS" not in f:
            by_fn[f] += n
    print(f"top {top} functions, own instructions (inlined code counted in its caller):")
    for f, n in by_fn.most_common(top):
        print(f"{n:>13,} {100 * n / total:5.1f}%  {n / requests:6.0f}/req  {f[:110]}")
PY
