#!/bin/bash
# The runs and commands behind the figures of the README's "Analysing runs" (docs/analysis/*.png).
#   bash docs/analysis/make.sh [RUNS_DIR]        # about 20 minutes on 2 cores
# RUNS_DIR (default runs/) receives the run folders and the full-size figures; the small PNGs
# shown in the README are copied here.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
runs=$(realpath -m "${1:-runs}")
mkdir -p "$runs"
cd "$repo"
# four 30-generation runs on digits, two at a time
for pair in "backprop feedback_alignment" "hebbian last_layer"; do
  for rule in $pair; do
    python run-wlnn-mnist.py params/wlnn/digits-$rule.yaml --num_generations 30 \
      --population_size 40 --tournament_size 8 --save_every 10 --out_dir "$runs/digits-$rule" \
      > "$runs/digits-$rule.out" &
  done
  wait
done
python run-wann-gym.py params/wann-gym/CartPoleSwingUp.yaml --num_workers 2 \
  --out_dir "$runs/swingup" > "$runs/swingup.out"
cd "$runs"
python -m evolearn.plot digits-backprop digits-feedback_alignment digits-hebbian digits-last_layer \
  --out figures --connections 960 980 1000 --num_networks 5 --curves 1 10 30 --curve_networks 5 \
  --num_workers 2 --dpi 60
python -m evolearn.plot swingup --out figures-swingup --dpi 60
cp figures/{evolution,random_networks,learning_curves,degrees}.png "$repo/docs/analysis/"
cp figures-swingup/wann-evolution-swingup.png figures-swingup/drawings/champion-swingup.png \
  "$repo/docs/analysis/"
