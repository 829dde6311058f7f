#!/bin/bash
# The Hebbian part of REPRODUCTION.md: run-hebbian-gym.py with ABCD_lr against static weights
# (the paper's baseline) on the same budget, each champion scored over 100 episodes with
# python -m evolearn.champion (fresh random weights in every episode for the Hebbian one).
#   bash reproduction/hebbian/make.sh RUNS_DIR
# A run whose log ends with "Done." is not run again; a stopped one is resumed. Each score goes
# to reproduction/hebbian/NAME.txt. Times on 2 cores (one run per core): CartPole about 40 s,
# LunarLander (100 generations of 64) about 10 minutes.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
runs=$(realpath -m --relative-to="$repo" "${1:-runs}")
here="$repo/reproduction/hebbian"
cd "$repo"
mkdir -p "$runs"

finished() { grep -q "^Done\." "$runs/$1/log.txt" 2>/dev/null; }
run() {  # NAME PARAMS [OPTIONS]: a run into RUNS_DIR/NAME, resumed if it was stopped
  local name=$1 params=$2
  shift 2
  finished "$name" && return 0
  if [ -f "$runs/$name/checkpoint.npz" ]; then
    python run-hebbian-gym.py "$runs/$name/params.yaml" --resume "$runs/$name" > /dev/null
  else
    python run-hebbian-gym.py "$params" "$@" --out_dir "$runs/$name" > /dev/null
  fi
}
score() {  # NAME: the champion over 100 episodes (from RUNS_DIR: the file names no machine's folder)
  (cd "$runs" && PYTHONPATH="$repo/src${PYTHONPATH:+:$PYTHONPATH}" \
    python -m evolearn.champion "$1" --num_trials 100) | tee "$here/$1.txt"
}

LUNAR=(--population_size 64 --num_generations 100)
run cartpole-abcd params/hebbian/CartPole-v1.yaml &
run cartpole-static params/hebbian/CartPole-v1.yaml --hebb_rule static &
wait
run lunar-abcd params/hebbian/LunarLander-v3.yaml "${LUNAR[@]}" &
run lunar-static params/hebbian/LunarLander-v3.yaml --hebb_rule static "${LUNAR[@]}" &
wait
for name in cartpole-abcd cartpole-static lunar-abcd lunar-static; do
  score "$name"
  cp "$runs/$name/results_summary.csv" "$here/$name-results.csv"
done
