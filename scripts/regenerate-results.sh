#!/usr/bin/env bash
# Regenerates the committed outputs of the shipped scenarios in results/.
# The test `determinism::golden_results_match` compares a fresh run with these files byte for
# byte; run this only for an intended change of the model or the outputs, and say why in the
# commit.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
for s in foundry-parallel-load timeouts-to-triumph foundry-sensitivity; do
  rm -rf "results/$s"
  ./target/release/spillway run "scenarios/$s.toml" --out "results/$s" --report --quiet > /dev/null
  ./target/release/spillway sweep "scenarios/$s.toml" --out "results/$s/sweep" --report --quiet > /dev/null
  echo "results/$s: $(ls "results/$s" | wc -l) files, sweep: $(ls "results/$s/sweep" | wc -l) files"
done
# Scenarios without a [sweep].
for s in gateway-strategies; do
  rm -rf "results/$s"
  ./target/release/spillway run "scenarios/$s.toml" --out "results/$s" --report --quiet > /dev/null
  echo "results/$s: $(ls "results/$s" | wc -l) files"
done
# The calibration example (docs/calibration.md): LatencyLab's real requests, fitted per endpoint.
rm -rf results/latencylab-calibration
./target/release/spillway calibrate data/latencylab/prompt.csv --out results/latencylab-calibration --quiet > /dev/null
echo "results/latencylab-calibration: $(ls results/latencylab-calibration | wc -l) files"
