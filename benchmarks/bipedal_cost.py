#!/usr/bin/env python3
"""What one generation of params/wann-gym/BipedalWalker-v3.yaml costs at most, and a full run.

    python benchmarks/bipedal_cost.py [--steps 20000] [--cores 2]

A generation's time depends on how long its walkers stay up: an episode ends when the hull
touches the ground or after 1600 steps, and the networks of generation 1 fall within about a
hundred steps, so the first generation of a run (its ``seconds`` column) is the cheap end. This
script measures the cost of one step (Gymnasium's BipedalWalker-v3 and the network's forward
pass, as the run steps them) with small random networks, then prints the upper bound: every
episode of a generation (480 networks x 6 weight values x 1 trial) running all 1600 steps, on
``--cores`` cores, and the 2048 generations of the file.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from evolearn.envs import make_env
from evolearn.genome import initial_genome
from evolearn.wann.gym import run_episodes
from evolearn.wann.network import TRAIN_WEIGHT_VALUES, WANNNetwork

EPISODES_PER_GENERATION = 480 * len(TRAIN_WEIGHT_VALUES)  # population x weights x 1 trial
MAX_STEPS = 1600
GENERATIONS = 2048


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20_000, help="steps to time")
    parser.add_argument("--cores", type=int, default=2, help="cores a generation runs on")
    args = parser.parse_args()
    envs = [make_env("BipedalWalker-v3")]
    steps, seconds, seed = 0, 0.0, 0
    while steps < args.steps:
        rng = np.random.default_rng(seed)
        network = WANNNetwork(initial_genome(24, 4, 0.25, rng, with_activations=True))
        start = time.perf_counter()
        run_episodes(
            network, envs, np.array([1.0]), [seed], take_argmax_action=False, use_torch=False
        )
        seconds += time.perf_counter() - start
        steps += _episode_steps(envs[0])
        seed += 1
    per_step = seconds / steps
    generation = EPISODES_PER_GENERATION * MAX_STEPS * per_step / args.cores
    print(f"{steps} steps of {seed} episodes: {per_step * 1e6:.0f} us per step (one core)")
    print(
        f"upper bound, every episode 1600 steps: {generation:.0f} s per generation on "
        f"{args.cores} cores, {generation * GENERATIONS / 86400:.1f} days for "
        f"{GENERATIONS} generations"
    )


def _episode_steps(env) -> int:
    """The number of steps of the episode the environment just ran."""
    wrapper = env
    while wrapper is not None:
        if hasattr(wrapper, "_elapsed_steps"):
            return int(wrapper._elapsed_steps)
        wrapper = getattr(wrapper, "env", None)
    raise RuntimeError("the environment has no TimeLimit wrapper to count its steps")


if __name__ == "__main__":
    main()
