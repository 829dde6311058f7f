#!/usr/bin/env bash
# The analysis of the Harlow section of REPRODUCTION.md, from the runs of runs.sh:
# each champion against newborn agents on 100 new problems (seeds 0..99), and the figures.
#   bash reproduction/harlow/analyse.sh OUT_ROOT
set -euo pipefail
cd "$(dirname "$0")/../.."
root=${1:?give the folder of the runs}
here=reproduction/harlow
for run in "$root"/*-seed*; do
    name=$(basename "$run")
    python -m evolearn.champion "$run" --num_tasks 100 --out "$here/champions/$name" \
        | sed "s|$root/|RUNS/|g" > "$here/champions/$name.txt"  # no machine's paths
    grep -E "^Generation 0:|^Done" "$run/log.txt" > "$here/champions/$name-log.txt"
done
python -m evolearn.plot "$root"/*-seed* --out "$here/figures"
