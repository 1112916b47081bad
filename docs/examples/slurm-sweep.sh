#!/usr/bin/env bash
# Slurm: run a Spillway sweep as a job array of 8 shards, then merge in a dependent job.
#
#   jobid=$(sbatch --parsable docs/examples/slurm-sweep.sh)
#   sbatch --dependency=afterok:$jobid --wrap \
#     'spillway merge out/shard-* --out out/merged --check'
#
#SBATCH --job-name=spillway-sweep
#SBATCH --array=0-7             # I of I/N; N = 8 below (SLURM_ARRAY_TASK_COUNT)
#SBATCH --cpus-per-task=2       # spillway uses every core it is given (--jobs)
#SBATCH --time=00:30:00
#SBATCH --output=out/slurm-%A_%a.log
set -euo pipefail
mkdir -p out
spillway sweep scenarios/foundry-parallel-load.toml \
  --shard "${SLURM_ARRAY_TASK_ID}/${SLURM_ARRAY_TASK_COUNT}" \
  --jobs "${SLURM_CPUS_PER_TASK}" \
  --out "out/shard-${SLURM_ARRAY_TASK_ID}"
