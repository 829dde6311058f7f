#!/usr/bin/env python3
"""Time one generation of each thesis workload: the fast path against the reference.

    python benchmarks/generation.py --data_dir MNIST_DIR [--num_workers 2]
    python benchmarks/generation.py --quick          # smaller workloads, about a minute

For each workload a seeded population is grown by random mutations to a realistic size
(``--mutations`` per network, as after that many generations), then one generation's work is
timed with the fast path (the whole population, or each worker's chunk, at once) and with the
reference (the straightforward per-network path; on a subset of the networks, scaled to the
whole population), in the same run. Worker start-up is excluded (the pool is warmed up first,
as in a run, where one pool serves every generation). The fast path is also timed with the
population doubled, to show how the time grows.

Rows:
1. WANN classification (MNIST): 960 networks, batch 1000, 6 weight values:
   evaluate + rank + reproduce.
2. WANN CartPoleSwingUp: 192 networks x 6 weight values x 3 trials x 1000 steps.
3. WLNN MNIST, backprop: 180 networks x 5 epochs, batch 256.
4. NSGA-II ranking of 960 networks.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

import numpy as np
import torch

from evolearn import streams
from evolearn.data import load_dataset
from evolearn.experiment.workers import WorkerPool
from evolearn.search.ranking import (
    rank_by_dominance,
    rank_by_dominance_reference,
    select_objectives,
)
from evolearn.search.reproduction import reproduce
from evolearn.testing import make_population, make_wlnn_population, train_config
from evolearn.wann.classification import ClassifyTask, classify_chunk
from evolearn.wann.gym import EpisodeTask, episodes_chunk
from evolearn.wann.network import TRAIN_WEIGHT_VALUES
from evolearn.wann.search import mutate_wann, weight_scores
from evolearn.wlnn.evolution import train_generation


def timed(fn, repeats: int = 1) -> float:
    """The median wall-clock seconds of ``repeats`` calls of ``fn``."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    python, version = platform.python_version(), torch.__version__
    return f"{model}, {os.cpu_count()} cores, Python {python}, torch {version}"


def wann_reproduce(genomes, scores, generation=1, seed=0):
    """Rank and reproduce as run-wann-classification.py does (thesis WANN values)."""
    rng = streams.stream(seed, generation, streams.REPRODUCE)
    connections = np.array([g.num_connections for g in genomes])
    objectives = select_objectives(
        scores["mean_reward"], scores["max_reward"], connections, 0.8, rng
    )
    return objectives, lambda ranks: [
        mutate_wann(
            genomes[p],
            streams.stream(seed, generation, streams.MUTATE, i),
            p_change_activation=0.5,
            p_add_connection=0.25,
            num_mutations=1,
        )
        for i, p in enumerate(
            reproduce(
                ranks,
                cull_ratio=0.2,
                elite_ratio=0.2,
                tournament_size=min(64, len(genomes) - int(len(genomes) * 0.2)),
                rng=streams.stream(seed, generation, streams.REPRODUCE, 1),
            )[1]
        )
    ]


def bench_classification(args, mnist) -> dict:
    size = 240 if args.quick else 960
    subset = 24 if args.quick else 96
    x, y = mnist.x_train[:1000], mnist.y_train[:1000]
    shared = {"x_train": x, "y_train": y}

    def generation(pool, genomes, fast):
        results = pool.map_population(
            classify_chunk,
            genomes,
            lambda g, _: ClassifyTask(
                g, "train", None, TRAIN_WEIGHT_VALUES, use_torch=False, device="cpu", fast=fast
            ),
        )
        scores = weight_scores(
            -np.array([r[0] for r in results]), np.array([r[1] for r in results])
        )
        objectives, children = wann_reproduce(genomes, scores)
        ranks = (rank_by_dominance if fast else rank_by_dominance_reference)(objectives)
        children(ranks)

    genomes = make_population(2 * size, 256, 10, 0.05, args.mutations, seed=0)
    with WorkerPool(args.num_workers, shared) as pool:
        generation(pool, genomes[:16], True)  # start the workers
        fast = timed(lambda: generation(pool, genomes[:size], True), args.repeats)
        doubled = timed(lambda: generation(pool, genomes, True), 1)
    with WorkerPool(1, shared) as pool:
        reference = timed(lambda: generation(pool, genomes[:subset], False)) * size / subset
    return row(
        f"WANN classification, {size} networks x batch 1000 x 6 weights "
        f"(evaluate + rank + reproduce)",
        fast,
        reference,
        doubled,
        1.0 if not args.quick else None,
        f"reference on {subset} networks, scaled",
    )


def bench_swingup(args) -> dict:
    size = 48 if args.quick else 192
    subset = 2 if args.quick else 6
    seeds = tuple(range(100, 103))

    def generation(pool, genomes, fast):
        pool.map_population(
            episodes_chunk,
            genomes,
            lambda g, _: EpisodeTask(
                g,
                "CartPoleSwingUp",
                TRAIN_WEIGHT_VALUES,
                seeds,
                take_argmax_action=False,
                use_torch=False,
                fast=fast,
            ),
        )

    genomes = make_population(2 * size, 5, 1, 0.5, args.mutations, seed=1)
    with WorkerPool(args.num_workers, {}) as pool:
        generation(pool, genomes[:4], True)
        fast = timed(lambda: generation(pool, genomes[:size], True), args.repeats)
        doubled = timed(lambda: generation(pool, genomes, True), 1)
    with WorkerPool(1, {}) as pool:
        reference = timed(lambda: generation(pool, genomes[:subset], False)) * size / subset
    return row(
        f"WANN CartPoleSwingUp, {size} networks x 6 weights x 3 trials x 1000 steps",
        fast,
        reference,
        doubled,
        3.0 if not args.quick else None,
        f"reference (Gymnasium env, per network) on {subset} networks, scaled",
    )


def bench_wlnn(args, mnist) -> dict:
    size = 45 if args.quick else 180
    subset = 2 if args.quick else 4
    epochs = 1 if args.quick else 5
    config = train_config(num_epochs=epochs, batch_size=256)
    shared = {"x_train": mnist.x_train, "y_train": mnist.y_train}

    def generation(pool, genomes, fast):
        train_generation(pool, genomes, config, seed=0, generation=1, fast=fast)

    # 5 WLNN mutations per generation: a fifth of the WANN mutation count in generations.
    genomes = make_wlnn_population(
        2 * size, 256, 10, seed=2, num_generations_of_mutations=args.mutations // 5
    )
    with WorkerPool(args.num_workers, shared) as pool:
        generation(pool, genomes[:4], True)
        fast = timed(lambda: generation(pool, genomes[:size], True), 1)
        doubled = (
            timed(lambda: generation(pool, genomes, True), 1) if not args.no_doubling else None
        )
    with WorkerPool(1, shared) as pool:
        reference = timed(lambda: generation(pool, genomes[:subset], False)) * size / subset
    return row(
        f"WLNN MNIST backprop, {size} networks x {epochs} epochs x batch 256",
        fast,
        reference,
        doubled,
        60.0 if not args.quick else None,
        f"reference (per network) on {subset} networks, scaled",
    )


def bench_ranking(args) -> dict:
    size = 960
    rng = np.random.default_rng(3)
    objectives = np.stack([rng.normal(size=size), 1 / rng.integers(1, 200, size)], axis=1)
    doubled_objectives = np.stack(
        [rng.normal(size=2 * size), 1 / rng.integers(1, 200, 2 * size)], axis=1
    )
    rank_by_dominance(objectives)
    fast = timed(lambda: rank_by_dominance(objectives), 21)
    doubled = timed(lambda: rank_by_dominance(doubled_objectives), 21)
    reference = timed(lambda: rank_by_dominance_reference(objectives), 1)
    return row(
        "NSGA-II ranking of 960 networks",
        fast,
        reference,
        doubled,
        0.010,
        "reference: plain Python loops",
    )


def row(name, fast, reference, doubled, target, note) -> dict:
    return {
        "name": name,
        "fast": fast,
        "reference": reference,
        "doubled": doubled,
        "target": target,
        "note": note,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data_dir", default=None, help="where MNIST's IDX files are")
    parser.add_argument("--num_workers", type=int, default=2)
    parser.add_argument(
        "--mutations",
        type=int,
        default=100,
        help="random mutations per network (WLNN: in rounds of 5, as its children get)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="timings per fast measurement")
    parser.add_argument("--quick", action="store_true", help="smaller workloads")
    parser.add_argument(
        "--no_doubling",
        action="store_true",
        help="skip the doubled WLNN population (the longest measurement)",
    )
    parser.add_argument(
        "--only", nargs="+", choices=("classification", "swingup", "wlnn", "ranking")
    )
    args = parser.parse_args()
    only = set(args.only or ("classification", "swingup", "wlnn", "ranking"))
    print(f"Machine: {machine()}; --num_workers {args.num_workers}", flush=True)
    rows = []
    if only & {"classification", "wlnn"}:
        mnist = load_dataset("mnist", args.data_dir, progress=False)
    if "classification" in only:
        rows.append(bench_classification(args, mnist))
        print_row(rows[-1])
    if "swingup" in only:
        rows.append(bench_swingup(args))
        print_row(rows[-1])
    if "wlnn" in only:
        rows.append(bench_wlnn(args, mnist))
        print_row(rows[-1])
    if "ranking" in only:
        rows.append(bench_ranking(args))
        print_row(rows[-1])
    print()
    print("| workload | fast | reference | speed-up | target | population x2 |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['name']} | {fmt(r['fast'])} | {fmt(r['reference'])} ({r['note']}) | "
            f"{r['reference'] / r['fast']:.0f}x | "
            f"{verdict(r)} | "
            f"{'%.2fx the time' % (r['doubled'] / r['fast']) if r['doubled'] else '-'} |"
        )


def verdict(r: dict) -> str:
    if not r["target"]:
        return "-"
    return f"<= {fmt(r['target'])} {'met' if r['fast'] <= r['target'] else 'MISSED'}"


def print_row(r: dict) -> None:
    print(
        f"{r['name']}: fast {fmt(r['fast'])}, reference {fmt(r['reference'])} "
        f"({r['note']}), speed-up {r['reference'] / r['fast']:.1f}x",
        flush=True,
    )


def fmt(seconds: float) -> str:
    if seconds < 0.1:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds:.2f} s"


if __name__ == "__main__":
    sys.exit(main())
