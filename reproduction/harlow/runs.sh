#!/usr/bin/env bash
# The Harlow section of REPRODUCTION.md: the tutorial's 800-generation GA, Baldwinian,
# Lamarckian and the no-learning control (--num_gradient_steps 0), seeds 0, 1 and 2, one
# process each, one after the other. A run that was stopped is resumed where it stood.
#   bash reproduction/harlow/runs.sh OUT_ROOT [SEEDS...]
set -euo pipefail
cd "$(dirname "$0")/../.."
root=${1:?give the folder for the runs}
shift
seeds=("${@:-0 1 2}")
seeds=(${seeds[@]})
run() {  # name, seed, options...
    local out="$root/$1-seed$2"
    local name=$1 seed=$2
    shift 2
    if [ -f "$out/checkpoint.npz" ]; then
        python run-harlow-baldwin.py "$out/params.yaml" --resume "$out"
    elif [ ! -e "$out" ]; then
        python run-harlow-baldwin.py params/harlow/baldwin.yaml --seed "$seed" --out_dir "$out" \
            --print_every 100 "$@"
    fi
}
for seed in "${seeds[@]}"; do run baldwinian "$seed"; done
for seed in "${seeds[@]}"; do run no-learning "$seed" --num_gradient_steps 0; done
for seed in "${seeds[@]}"; do run lamarckian "$seed" --inheritance lamarckian; done
