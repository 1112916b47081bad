# Shared by scripts/callgrind-per-request.sh and scripts/branches-per-request.sh (sourced, not
# run): the arguments, one run of spillway under a valgrind tool, and the requests it simulated.
#
#   per_request_run NAME USAGE_LINES TOOL "$@" -- [MORE_VALGRIND_ARGS...]
#
# parses `[BINARY] SCENARIO [run arguments...]` (BINARY defaults to target/release/spillway),
# prints the calling script's usage (its comment lines USAGE_LINES, e.g. 2,22) and exits 2
# without a scenario, runs the binary under `valgrind --tool=TOOL` with the profile written to
# $CG_OUT or a temporary file, and sets `out` (the profile), `work` (a temporary directory
# removed on exit) and `requests` (requests sent, from the run's summary.json).

per_request_run() {
    local name=$1 usage=$2 tool=$3
    shift 3
    local args=()
    while [[ $# -gt 0 && "$1" != "--" ]]; do
        args+=("$1")
        shift
    done
    shift
    local bin=target/release/spillway
    if [[ ${#args[@]} -ge 1 && -x "${args[0]}" && ! -d "${args[0]}" && "${args[0]}" != *.toml ]]; then
        bin=${args[0]}
        args=("${args[@]:1}")
    fi
    if [[ ${#args[@]} -lt 1 ]]; then
        sed -n "${usage}p" "$0" >&2
        exit 2
    fi
    command -v valgrind >/dev/null || { echo "$name: valgrind is not installed" >&2; exit 2; }
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    out=${CG_OUT:-$work/$tool.out}
    valgrind --tool="$tool" --"$tool"-out-file="$out" "$@" "$bin" run "${args[@]}" --jobs 1 --quiet --format json --out "$work/o" \
        >/dev/null 2>"$work/valgrind.log" || {
        cat "$work/valgrind.log" >&2
        exit 1
    }
    requests=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(sum(v["requests"]["sent"] for v in d["variants"]))' "$work/o/summary.json")
}
