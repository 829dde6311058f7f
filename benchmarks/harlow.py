#!/usr/bin/env python3
"""The cost of one Harlow individual's lifetimes: the per-agent reference against the batched
path, side by side in one run (so that the ratio holds on a noisy machine).

    python benchmarks/harlow.py                       # the tutorial's sizes, 50 lanes
    python benchmarks/harlow.py --individuals 5 --reference_individuals 2

An individual learns ``--num_tasks`` new problems, each for 25 gradient steps of 6 trials
and 20 evaluation trials (hidden size 20), as run-harlow-baldwin.py scores it:

- reference: :func:`evolearn.harlow.agent.reference_lifetime`, one ``nn.Module`` and one
  problem at a time (the tutorial's loop), per individual;
- batched: :func:`evolearn.harlow.search.lifetimes`, ``--individuals`` individuals x problems
  as the lanes of one batched LSTM (the search's own path: Baldwinian, one lane per individual
  and problem; Lamarckian, one lane per individual, the problems one after the other), per
  individual.

It prints both times per individual, their ratio, and what a generation of 5 children and
the 800-generation run (plus the 50 newborns of generation 0) would cost from them.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from evolearn import streams
from evolearn.envs.harlow import HarlowEnv
from evolearn.harlow.agent import (
    INITIAL_HYPERPARAMETERS,
    Lifetime,
    flatten,
    initial_parameters,
    reference_lifetime,
)
from evolearn.harlow.search import LifetimeTask, individual_draws, lifetimes

LIFETIME = Lifetime(25, 6, 20)


def task(individuals: int, num_tasks: int, hidden: int, lamarckian: bool) -> LifetimeTask:
    params = np.stack(
        [flatten(initial_parameters(hidden, streams.stream(0, 0, streams.INIT, i)))
         for i in range(individuals)]
    )  # fmt: skip
    hyper = np.tile(np.array(INITIAL_HYPERPARAMETERS), (individuals, 1))
    seeds = tuple(range(100, 100 + num_tasks))
    return LifetimeTask(params, hyper, range(individuals), seeds, (0, 1), LIFETIME, hidden,
                        lamarckian)  # fmt: skip


def batched_seconds(job: LifetimeTask) -> float:
    start = time.perf_counter()
    lifetimes(job)
    return (time.perf_counter() - start) / len(job.hyper)


def reference_seconds(job: LifetimeTask) -> float:
    from evolearn.harlow.agent import unflatten

    draws = individual_draws(job)
    start = time.perf_counter()
    for i in range(len(job.hyper)):
        params = unflatten(job.params[i], job.hidden)
        for p, seed in enumerate(job.seeds):
            env = HarlowEnv()
            env.reset(seed=seed)
            _, _, learned = reference_lifetime(params, job.hyper[i], env, draws[i, p], LIFETIME)
            if job.lamarckian:
                params = learned
    return (time.perf_counter() - start) / len(job.hyper)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--individuals", type=int, default=5, help="the batched path's individuals")
    parser.add_argument("--reference_individuals", type=int, default=2)
    parser.add_argument("--num_tasks", type=int, default=10)
    parser.add_argument("--hidden_size", type=int, default=20)
    args = parser.parse_args()
    import torch

    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; hidden {args.hidden_size}, "
        f"{args.num_tasks} problems per individual, 25 steps x 6 trials + 20 evaluation trials"
    )
    print(
        f"{'inheritance':12} {'lanes':>6} {'reference s':>12} {'batched s':>10} "
        f"{'reference/batched':>18} {'s/generation':>13} {'800 generations':>16}"
    )
    for lamarckian in (False, True):
        job = task(args.individuals, args.num_tasks, args.hidden_size, lamarckian)
        warm_up = task(1, 1, args.hidden_size, lamarckian)
        batched_seconds(warm_up), reference_seconds(warm_up)  # torch's first calls
        batched = batched_seconds(job)
        reference = reference_seconds(
            task(args.reference_individuals, args.num_tasks, args.hidden_size, lamarckian)
        )
        lanes = args.individuals * (1 if lamarckian else args.num_tasks)
        generation = 5 * batched
        run = 800 * generation + 50 * batched
        print(
            f"{'lamarckian' if lamarckian else 'baldwinian':12} {lanes:6d} {reference:12.3f} "
            f"{batched:10.4f} {reference / batched:18.1f} {generation:13.3f} "
            f"{run / 60:13.1f} min"
        )


if __name__ == "__main__":
    main()
