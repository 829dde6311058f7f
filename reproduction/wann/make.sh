#!/bin/bash
# The WANN part of REPRODUCTION.md: the thesis's WANN parameter files and their -paper twins
# (the WANN paper's conventions), each champion in the WANN paper's settings (100 test trials),
# the WANN release's swing-up champion (swing.out) in the same settings, and the figures.
#   bash reproduction/wann/make.sh RUNS_DIR [SWING_OUT]
# A run whose log ends with "Done." is not run again; a setting already in
# reproduction/wann/RUN/settings.txt is not scored again. Times on 2 cores: about 10 min per
# swing-up run, 5 min per digits run, 13 min per 1024-generation MNIST run, 1-3 min per settings.
# SWING_OUT: the release's champions/swing.out, from
# https://github.com/google/brain-tokyo-workshop/tree/master/WANNRelease/WANN/champions
# The runs and the champion tool go from the repository's folder with paths relative to it, so
# that the files copied into reproduction/ (params.yaml, settings.txt) name no folder of the
# machine that made them; the tools run from RUNS_DIR get MNIST's folder in full.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
relative() { realpath -m --relative-to="$repo" "$1"; }
runs=$(relative "${1:-runs}")
swing_out=${2:+$(relative "$2")}
here="$repo/reproduction/wann"
mnist=../shared/datasets/mnist
mnist_in_full=$(realpath -m "$repo/$mnist")
cd "$repo"
mkdir -p "$runs"

finished() { grep -q "^Done\." "$runs/$1/log.txt" 2>/dev/null; }
run() {  # NAME SCRIPT PARAMS [OPTIONS]: a run into RUNS_DIR/NAME, resumed if it was stopped
  local name=$1 script=$2 params=$3
  shift 3
  finished "$name" && return 0
  if [ -f "$runs/$name/checkpoint.npz" ]; then
    python "$script" "$runs/$name/params.yaml" --resume "$runs/$name" --num_workers 2
  else
    python "$script" "$params" "$@" --num_workers 2 --out_dir "$runs/$name"
  fi
}
settings() {  # NAME [OPTIONS]: the champion of RUNS_DIR/NAME in the WANN paper's settings
  local name=$1
  shift
  mkdir -p "$here/runs/$name"
  [ -s "$here/runs/$name/settings.txt" ] || python -m evolearn.champion "$runs/$name" \
    --setting all --num_trials 100 "$@" > "$here/runs/$name/settings.txt"
  cp "$runs/$name"/{params.yaml,results_summary.csv,champion.json} "$here/runs/$name/"
}

gym=run-wann-gym.py
classify=run-wann-classification.py
run cartpole $gym params/wann-gym/CartPole-v0.yaml
run swingup $gym params/wann-gym/CartPoleSwingUp.yaml
run swingup-paper $gym params/wann-gym/CartPoleSwingUp-paper.yaml
run wann-digits-full $classify params/wann-classification/digits.yaml
run wann-digits-paper $classify params/wann-classification/digits-paper.yaml
run wann-mnist $classify params/wann-classification/mnist.yaml --num_generations 1024 \
  --test_every 50 --data_dir "$mnist"
run wann-mnist-paper $classify params/wann-classification/mnist-paper.yaml \
  --num_generations 1024 --test_every 50 --data_dir "$mnist"

for name in cartpole swingup swingup-paper wann-digits-full wann-digits-paper; do
  settings $name
done
for name in wann-mnist wann-mnist-paper; do
  settings $name --data_dir "$mnist"
done
if [ -n "$swing_out" ]; then
  mkdir -p "$here/runs/swing.out"
  [ -s "$here/runs/swing.out/settings.txt" ] || python -m evolearn.champion "$swing_out" \
    --params params/wann-gym/CartPoleSwingUp-paper.yaml --setting all --num_trials 100 \
    > "$here/runs/swing.out/settings.txt"
fi

cd "$runs"
python -m evolearn.plot swingup swingup-paper --out "$here/swingup" --dpi 80
python -m evolearn.plot wann-digits-full wann-digits-paper --out "$here/digits" --dpi 80
python -m evolearn.plot wann-mnist wann-mnist-paper --out "$here/mnist" --dpi 80 \
  --data_dir "$mnist_in_full"
