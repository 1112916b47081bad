#!/usr/bin/env bash
# Writes the seed corpus of every fuzz target into fuzz/corpus/<target>/seed-*, from the
# shipped scenarios, templates and fixtures and from small outputs of the release binary.
# Run from anywhere; it builds target/release/spillway first. Fuzzing adds its own finds beside
# the seeds (minimize them with `cargo fuzz cmin TARGET` before committing).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
B=$PWD/target/release/spillway
C=fuzz/corpus
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir -p $C/scenario $C/set_grid $C/report $C/merge
rm -f $C/*/seed-*

# scenario: every shipped scenario, template and fixture.
for f in scenarios/*.toml templates/*.toml tests/fixtures/*/*.toml; do
  cp "$f" "$C/scenario/seed-$(basename "$(dirname "$f")")-$(basename "$f")"
done

# set_grid: one override per line (`set KEY=VALUE`, `grid KEY=VALUES`), the cases of issues 12
# and 13 among them.
i=0
while IFS= read -r line; do
  i=$((i + 1))
  printf '%b' "$line" > "$C/set_grid/seed-$i"
done <<'LINES'
set workload.rate_per_min=5\ngrid workload.rate_per_min=1,2,4
set workload.class.chat.max_tokens=300\nset deployment.std.tpm=50_000\nset pool.p.tpm=50_000
set client.timeout="30s"\nset client.max_retries=3\ngrid client.timeout=10s,30s
set client.timeout=30
set workload.users=abc
set models."gpt-4o-mini".decode_tokens_per_s=90
set models.gpt-4.1-mini.x=1
set sweep.replications=3\nset slo=5
set deployment.ptu.ptu=30\ngrid deployment.ptu.ptu=15..45 step 15
grid workload.rate_per_min=0..9223372036854775807 step 1
grid workload.rate_per_min=0..1 step 1e-300
grid pool.p.tpm=100000..500000 step 100000\ngrid workload.class.chat.max_tokens=[100, 200]
set workload.class.chat.completion_tokens={ dist = "lognormal", mean = 300, cv = 0.8 }
set workload.arrival="closed"\nset workload.users=3\nset workload.rate_per_min=5
set deployment.ptu.spillover=""\nset deployment.std.completion_window="1s"
LINES

# report: small and shipped run and sweep outputs (kind byte 0, 1, 2).
$B run tests/fixtures/sweep/base.toml --out "$T/run" -q > /dev/null
$B sweep tests/fixtures/sweep/sweep2.toml --out "$T/sweep" -q > /dev/null
for d in "$T/run" results/timeouts-to-triumph; do
  n=$(basename "$d")
  { printf '\x00'; cat "$d/summary.json"; } > "$C/report/seed-summary-$n"
  first=$(ls "$d"/timeseries-*.csv | head -1)
  { printf '\x02'; cat "$d/summary.json"; printf '\xff'; cat "$first"; } > "$C/report/seed-rundir-$n"
done
for d in "$T/sweep" results/timeouts-to-triumph/sweep; do
  n=$(basename "$(dirname "$d")")-$(basename "$d")
  { printf '\x01'; cat "$d/sweep.json"; } > "$C/report/seed-sweep-$n"
done

# merge: the two shards of a small sweep, in both orders, and one alone.
$B sweep tests/fixtures/sweep/sweep2.toml --shard 0/2 --out "$T/s0" -q > /dev/null
$B sweep tests/fixtures/sweep/sweep2.toml --shard 1/2 --out "$T/s1" -q > /dev/null
{ cat "$T/s0/sweep.json"; printf '\xff'; cat "$T/s1/sweep.json"; } > "$C/merge/seed-two-shards"
{ cat "$T/s1/sweep.json"; printf '\xff'; cat "$T/s0/sweep.json"; } > "$C/merge/seed-two-shards-reversed"
cp "$T/s0/sweep.json" "$C/merge/seed-one-shard"
$B sweep tests/fixtures/sweep/sweep2.toml --shard 0/1 --out "$T/all" -q > /dev/null
cp "$T/all/sweep.json" "$C/merge/seed-whole"

for t in scenario set_grid report merge; do
  echo "$C/$t: $(ls $C/$t | wc -l) files, $(du -sh $C/$t | cut -f1)"
done
