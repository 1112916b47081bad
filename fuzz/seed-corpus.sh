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
mkdir -p $C/scenario $C/set_grid $C/report $C/merge $C/trace $C/telemetry
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

# trace: an options byte (see spillway::fuzzing::trace), then a trace file. Every fixture as
# told from its first line, some with their format given and options on, and the first rows of
# the shipped Azure and Mooncake traces, gzip-compressed as shipped.
for f in tests/fixtures/traces/*; do
  { printf '\x00'; cat "$f"; } > "$C/trace/seed-$(basename "$f")"
done
{ printf '\x1c'; cat tests/fixtures/traces/spillway.csv; } > "$C/trace/seed-spillway-csv-given-sample-session"
{ printf '\x22'; cat tests/fixtures/traces/mooncake.jsonl; } > "$C/trace/seed-mooncake-given-rate"
{ printf '\xc1'; cat tests/fixtures/traces/azure.csv; } > "$C/trace/seed-azure-given-window-scaled"
{ printf '\x03'; cat tests/fixtures/traces/burstgpt.csv; } > "$C/trace/seed-burstgpt-given"
{ printf '\x05'; cat tests/fixtures/traces/spillway.jsonl; } > "$C/trace/seed-spillway-jsonl-given"
{ printf '\x00'; { zcat data/azure-llm-2023/AzureLLMInferenceTrace_conv.csv.gz || true; } | head -40 | gzip -n; } > "$C/trace/seed-azure-conv-40-gz"
{ printf '\x00'; { zcat data/mooncake/conversation_trace.jsonl.gz || true; } | head -40 | gzip -n; } > "$C/trace/seed-mooncake-conv-40-gz"

# telemetry: a format byte (0 Spillway, 1 LatencyLab, 2 llmperf), then the file: 40 synthetic
# Spillway rows (the calibrate module's example), a small LatencyLab file of two models, the
# first 30 requests of an llmperf file.
{
  printf '\x00'
  echo "timestamp,model,prompt_tokens,completion_tokens,ttft_ms,duration_ms,status,streaming"
  for i in $(seq 0 39); do
    p=$((500 + 100 * (i % 10)))
    s=$((45 + 5 * (i % 5)))
    status=200; [ $((i % 13)) -eq 7 ] && status=429
    echo "${i}0,m,$p,100,$((200 + p / 5)),$((200 + p / 5 + 100000 / s)),$status,true"
  done
} > "$C/telemetry/seed-spillway-40"
{
  printf '\x01'
  echo "timestamp,A success,A input_characters,A output_characters,A first_token_time_seconds,A first_sentence_time_seconds,A total_request_time_seconds,A chunks_time_seconds,B success,B input_characters,B output_characters,B first_token_time_seconds,B first_sentence_time_seconds,B total_request_time_seconds,B chunks_time_seconds"
  for i in $(seq 10 39); do
    echo "2024-04-12 10:$i:28.690452,True,$((250 * (i % 4 + 1))),$((500 + 10 * i)),0.4$((i % 10)),0.5,1.$((i % 10))5,\"[0.018, 0.0002]\",$([ $((i % 7)) -eq 0 ] && echo False || echo True),500,924,1.10,1.10,4.4$((i % 10)),[]"
  done
} > "$C/telemetry/seed-latencylab-2-models"
{
  printf '\x01'
  echo "timestamp,A success,A input_characters,A output_characters,A first_token_time_seconds,A first_sentence_time_seconds,A total_request_time_seconds,A chunks_time_seconds,B success,B input_characters,B output_characters,B first_token_time_seconds,B first_sentence_time_seconds,B total_request_time_seconds,B chunks_time_seconds"
  echo '2024-04-12 10:32:28.690452,True,250,595,0.40,0.47,1.75,"[0.018, 0.0002]",False,250,0,0.0,0.0,0.0,[]'
  echo '2024-04-12 10:33:32.321344,True,500,1078,0.45,0.52,2.84,"[0.034]",True,500,924,1.10,1.10,4.48,"[0.0004, 0.66]"'
  echo '2024-04-12 10:34:40.000000,True,750,800,0.43,0.50,2.10,[],True,750,700,1.00,1.05,3.90,[]'
} > "$C/telemetry/seed-latencylab-3-rows-a-failure"
{
  printf '\x02'
  head -31 data/llmperf-leaderboard/individual/anyscale_13b.json | sed '$ s/},$/}/'
  echo "]"
} > "$C/telemetry/seed-llmperf-30"

for t in scenario set_grid report merge trace telemetry; do
  echo "$C/$t: $(ls $C/$t | wc -l) files, $(du -sh $C/$t | cut -f1)"
done
