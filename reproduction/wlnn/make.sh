#!/bin/bash
# The WLNN part of REPRODUCTION.md: 50 generations of each params/wlnn/*.yaml on MNIST, the
# figures and tables of the runs, and the random-architecture control at each champion's size.
#   bash reproduction/wlnn/make.sh RUNS_DIR [RULE ...]    # about 25 min per rule on 2 cores
# The runs go from the repository's folder with paths relative to it, so that the params.yaml
# copied into reproduction/ names no folder of the machine that made it; the tools run from
# RUNS_DIR get MNIST's folder in full.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
runs=$(realpath -m --relative-to="$repo" "${1:-runs}"); shift || true
rules=("${@:-backprop feedback_alignment hebbian last_layer}")
here="$repo/reproduction/wlnn"
mnist=../shared/datasets/mnist
mnist_in_full=$(realpath -m "$repo/$mnist")
cd "$repo"
mkdir -p "$runs"
for rule in ${rules[@]}; do
  [ -f "$runs/wlnn-$rule/champion_trained.json" ] || python run-wlnn-mnist.py \
    params/wlnn/$rule.yaml --num_generations 50 --num_workers 2 \
    --data_dir "$mnist" --out_dir "$runs/wlnn-$rule"
done
cd "$runs"
folders=$(for rule in ${rules[@]}; do echo wlnn-$rule; done)
python -m evolearn.plot $folders --out "$here" --dpi 80 --data_dir "$mnist_in_full"
for rule in ${rules[@]}; do
  connections=$(python - "$runs/wlnn-$rule" <<'PY'
import sys
import pandas as pd
tests = pd.read_csv(sys.argv[1] + "/results_summary.csv").dropna(subset=["champion_test_acc"])
print(int(tests["champion_connections"].iloc[-1]))
PY
)
  python -m evolearn.random_networks wlnn-$rule --connections "$connections" --num_networks 20 \
    --together --num_workers 2 --out "$here/control-$rule" --dpi 80 --data_dir "$mnist_in_full"
  mkdir -p "$here/runs/$rule"
  cp wlnn-$rule/{params.yaml,results_summary.csv,population.csv.bz2,champion.json,champion_trained.json} \
    "$here/runs/$rule/"
done
python "$here/table.py" "$here" ${rules[@]}
