#!/usr/bin/env python3
"""The cost of a Hebbian network's step, per network, against the environment's own step.

    python benchmarks/hebbian_step.py     # CartPole-v1, LunarLander-v3, BipedalWalker-v3
    python benchmarks/hebbian_step.py --popsize 64 --steps 100

For each environment, with the 128-64 network and the ABCD_lr rule (normalisation on), in one
process and one run (so the ratios hold on a noisy machine):

- fast: the whole population's forward pass, rule and normalisation (hebbian/fused.py), per
  network and step;
- reference: the same, one network at a time (network.forward_one, rules.update_one,
  rules.normalise_one), per network and step;
- env: the environment's own ``step`` with random actions, per step.

The issue's goal: fast below env on LunarLander-v3 and BipedalWalker-v3, at most twice env on
CartPole-v1.
"""

from __future__ import annotations

import argparse
import time

import gymnasium
import numpy as np

from evolearn.envs import make_env
from evolearn.hebbian import fused, rules
from evolearn.hebbian.network import DEFAULT_HIDDEN, forward_one, layer_shapes, random_weights

ENVS = ("CartPole-v1", "LunarLander-v3", "BipedalWalker-v3")


def sizes(env_name):
    env = gymnasium.make(env_name)
    space = env.action_space
    n_out = space.n if isinstance(space, gymnasium.spaces.Discrete) else space.shape[0]
    return env.observation_space.shape[0], n_out


def fast_us(shapes, popsize, steps, rng):
    raws = [rng.uniform(-0.1, 0.1, size=(popsize, a, b)).astype(np.float32) for a, b in shapes]
    scales = [np.ones(popsize, np.float32) for _ in shapes]
    terms = [rules.fold(rng.normal(size=(popsize, a, b, 5)), "ABCD_lr") for a, b in shapes]
    x = rng.normal(size=(steps, popsize, shapes[0][0])).astype(np.float32)

    def one_step(t):
        activities = fused.forward(raws, scales, x[t])
        for layer, layer_terms in enumerate(terms):
            pre, post = activities[layer], activities[layer + 1]
            fused.step_layer(raws[layer], scales[layer], pre, post, layer_terms, True)

    one_step(0)  # compiles the kernel (numba)
    start = time.perf_counter()
    for t in range(steps):
        one_step(t)
    return (time.perf_counter() - start) / steps / popsize * 1e6


def reference_us(shapes, networks, steps, rng):
    total = 0.0
    for _ in range(networks):
        weights = random_weights("uni", shapes, rng, np.float64)
        h = [rng.normal(size=(a, b, 5)) for a, b in shapes]
        x = rng.normal(size=(steps, shapes[0][0]))
        start = time.perf_counter()
        for t in range(steps):
            activities = forward_one(weights, x[t])
            for layer in range(len(weights)):
                pre, post = activities[layer], activities[layer + 1]
                updated = rules.update_one(weights[layer], pre, post, h[layer], "ABCD_lr")
                weights[layer] = rules.normalise_one(updated)
        total += time.perf_counter() - start
    return total / steps / networks * 1e6


def env_us(env_name, steps, rng):
    env = make_env(env_name)
    env.reset(seed=0)
    env.action_space.seed(0)
    actions = [env.action_space.sample() for _ in range(steps)]
    start = time.perf_counter()
    for action in actions:
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            env.reset()
    seconds = time.perf_counter() - start
    env.close()
    return seconds / steps * 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--popsize", type=int, default=200)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--reference_networks", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"popsize {args.popsize}, {args.steps} steps, 128-64 network, ABCD_lr, normalised")
    print(
        f"{'environment':18} {'fast us':>8} {'reference us':>13} {'env us':>7} "
        f"{'fast/env':>9} {'reference/fast':>15}"
    )
    for env_name in ENVS:
        shapes = layer_shapes(*_in_out(env_name))
        fast = fast_us(shapes, args.popsize, args.steps, rng)
        reference = reference_us(shapes, args.reference_networks, args.steps, rng)
        env = env_us(env_name, 20 * args.steps, rng)
        print(
            f"{env_name:18} {fast:8.1f} {reference:13.1f} {env:7.1f} {fast / env:9.2f} "
            f"{reference / fast:15.1f}"
        )


def _in_out(env_name):
    n_in, n_out = sizes(env_name)
    return n_in, DEFAULT_HIDDEN, n_out


if __name__ == "__main__":
    main()
