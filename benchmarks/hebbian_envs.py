#!/usr/bin/env python3
"""How run-hebbian-gym.py steps a population's environments: its own loop over one
environment per network, against Gymnasium's vector API, and the pixel front's cost.

    python benchmarks/hebbian_envs.py                 # LunarLander-v3, 64 networks
    python benchmarks/hebbian_envs.py --env_name CartPole-v1 --popsize 200

In one process and one run (the ratios hold on a noisy machine), per environment step of one
network, with random actions of the right space:

- own: the loop ``episodes.population_returns`` runs, ``env.step`` of each network's
  environment in a Python loop;
- sync: ``gymnasium.vector.SyncVectorEnv`` over the same environments (the same loop inside
  Gymnasium, plus its batching and autoreset);
- async: ``gymnasium.vector.AsyncVectorEnv``, one process per environment (Gymnasium's design:
  ``--popsize`` processes, which would compete with the toolkit's own workers for the cores);
- and for CarRacing-v3 (``--pixels``) the two static convolution layers of 84x84 frames: the
  population's pass (hebbian/pixels.py, numba) and the reference (one frame, numpy), per frame,
  beside the environment's step.
"""

from __future__ import annotations

import argparse
import time

import gymnasium
import numpy as np

from evolearn.envs import make_env
from evolearn.hebbian import pixels


def per_step(step, steps: int, population: int) -> float:
    step()  # warm up (numba compiles, first frames)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / steps / population * 1e6


def environments(args):
    envs = [make_env(args.env_name) for _ in range(args.popsize)]
    for i, env in enumerate(envs):
        env.reset(seed=i)
        env.action_space.seed(i)

    def own():
        for env in envs:
            _, _, terminated, truncated, _ = env.step(env.action_space.sample())
            if terminated or truncated:
                env.reset()

    sync = gymnasium.vector.SyncVectorEnv([lambda: make_env(args.env_name)] * args.popsize)
    sync.reset(seed=0)
    sync.action_space.seed(0)
    asynchronous = gymnasium.vector.AsyncVectorEnv(
        [lambda: make_env(args.env_name)] * args.popsize, context="spawn"
    ) if args.with_async else None  # fmt: skip
    results = {"own": per_step(own, args.steps, args.popsize)}
    results["sync"] = per_step(
        lambda: sync.step(sync.action_space.sample()), args.steps, args.popsize
    )
    if asynchronous is not None:
        asynchronous.reset(seed=0)
        results["async"] = per_step(
            lambda: asynchronous.step(asynchronous.action_space.sample()),
            args.steps,
            args.popsize,
        )
        asynchronous.close()
    sync.close()
    for env in envs:
        env.close()
    return results


def pixel_front(args):
    rng = np.random.default_rng(0)
    flats = [pixels.initial_conv_weights(rng) for _ in range(args.popsize)]
    conv = [
        np.stack(layer).astype(np.float32)
        for layer in zip(*map(pixels.split_conv, flats), strict=True)
    ]
    frames = rng.random((args.popsize, 3, 84, 84), dtype=np.float32)
    front = pixels.PixelFront(conv)
    fast = per_step(lambda: front(frames), max(1, args.steps // 10), args.popsize)
    one = [c[0] for c in conv]
    reference = per_step(lambda: pixels.conv_one(one, frames[0]), max(1, args.steps // 10), 1)
    return {"pixels fast": fast, "pixels reference": reference}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env_name", default="LunarLander-v3")
    parser.add_argument("--popsize", type=int, default=64)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument(
        "--no_async",
        dest="with_async",
        action="store_false",
        help="leave out AsyncVectorEnv (one process per environment)",
    )
    parser.add_argument("--pixels", action="store_true", help="also the CarRacing pixel front")
    args = parser.parse_args()
    results = environments(args)
    if args.pixels:
        results.update(pixel_front(args))
    print(f"{args.env_name}, {args.popsize} networks, {args.steps} steps: us per network-step")
    for name, value in results.items():
        print(f"  {name:18s} {value:9.1f}   ({value / results['own']:.2f} x own)")


if __name__ == "__main__":
    main()
