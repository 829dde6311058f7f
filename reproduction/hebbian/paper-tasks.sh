#!/bin/bash
# The paper's two tasks with its budget's popsize, for as long as MINUTES allows on 2 cores
# (one run per core), then each champion scored and the champion's weights over one episode:
#   bash reproduction/hebbian/paper-tasks.sh RUNS_DIR MINUTES
# - CarRacing-v3, ABCD_lr, popsize 200 (train_hebb.py's defaults, params/hebbian/CarRacing-v3.yaml);
# - Ant-v5, ABCD_lr on the bodies standard and damaged_left, popsize 64 (ours: the file's 500
#   does not give a generation in this time), after a LunarLander-v3 ABCD_lr run of 100
#   generations of 64 (as make.sh), whose champion the weight figure shows.
# A run is stopped with SIGTERM at the deadline: it keeps its last complete generation (its
# checkpoint and champion.npz), and resumes with --resume. Results go to reproduction/hebbian/.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
runs=$(realpath -m --relative-to="$repo" "${1:-runs}")
minutes=${2:-40}
here="$repo/reproduction/hebbian"
cd "$repo"
mkdir -p "$runs"
deadline=$(($(date +%s) + 60 * minutes))

until_deadline() {  # COMMAND...: run it, stopped with SIGTERM at the deadline
  "$@" > /dev/null &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      kill -TERM "$pid"
      break
    fi
    sleep 5
  done
  wait "$pid" || true  # a stopped run exits with its own code: its checkpoint is what counts
}
score() {  # NAME [OPTIONS]: the champion scored (from RUNS_DIR: the output names no machine's folder)
  local name=$1
  shift
  (cd "$runs" && PYTHONPATH="$repo/src${PYTHONPATH:+:$PYTHONPATH}" \
    python -m evolearn.champion "$name" "$@")
}

car() {
  until_deadline python run-hebbian-gym.py params/hebbian/CarRacing-v3.yaml \
    --out_dir "$runs/car-abcd"
  score car-abcd --num_trials 10 | tee "$here/car-abcd.txt"
  cp "$runs/car-abcd/results_summary.csv" "$here/car-abcd-results.csv"
}
ant() {
  if [ ! -f "$runs/lunar-abcd/champion.npz" ]; then
    python run-hebbian-gym.py params/hebbian/LunarLander-v3.yaml --population_size 64 \
      --num_generations 100 --out_dir "$runs/lunar-abcd" > /dev/null
  fi
  (cd "$runs" && PYTHONPATH="$repo/src${PYTHONPATH:+:$PYTHONPATH}" \
    python -m evolearn.plot lunar-abcd --out "$repo/$runs/figures" --seed 0) > /dev/null
  cp "$runs/figures/hebbian-weights-lunar-abcd.png" "$here/lunar-abcd-weights.png"
  until_deadline python run-hebbian-gym.py params/hebbian/Ant-v5.yaml --population_size 64 \
    --out_dir "$runs/ant-abcd"
  for body in standard damaged_left damaged_right; do
    score ant-abcd --num_trials 10 --morphology "$body"
  done | tee "$here/ant-abcd.txt"
  cp "$runs/ant-abcd/results_summary.csv" "$here/ant-abcd-results.csv"
}

car &
ant &
wait
