#!/usr/bin/env python3
"""The overhead of a Dask cluster: a generation on the local pool of 2 processes against the
same generation on a 2-worker Dask cluster (``--scheduler local:2``), in one run.

    python benchmarks/cluster_overhead.py --data_dir MNIST_DIR
    python benchmarks/cluster_overhead.py --only wlnn --generations 3 --repeats 2

Each workload is its parameter file as it is (the population of the file), run by its script
for ``--generations`` generations, once with ``--num_workers 2`` and once with
``--scheduler local:2``, alternately, ``--repeats`` times. From each run's tensorboard events:
``times/evaluation`` (the pool's part of a generation) and ``times/complete_generation``, the
mean over its generations, and the median over the repeats. The overhead is the cluster's
time over the local pool's, minus 1. The whole command's wall time (start-up included: the
cluster's start and the scatter of the dataset happen once per run) is shown beside it, and
both runs must end with the same champion.json, byte for byte.

Workloads: ``params/wlnn/backprop.yaml`` (MNIST, 180 networks x 5 epochs) and
``params/wann-gym/BipedalWalker-v3.yaml`` (480 networks, one episode each).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORKLOADS = {
    "wlnn": ("run-wlnn-mnist.py", "params/wlnn/backprop.yaml"),
    "bipedal": ("run-wann-gym.py", "params/wann-gym/BipedalWalker-v3.yaml"),
}
POOLS = {"local pool of 2": ["--num_workers", "2"], "Dask local:2": ["--scheduler", "local:2"]}


def generation_times(out: Path) -> dict[str, float]:
    """The mean seconds per generation of the evaluation and of the whole generation."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(out / "tensorboard_summary"), size_guidance={"scalars": 0})
    events.Reload()
    return {
        tag: statistics.mean(e.value for e in events.Scalars(f"times/{tag}"))
        for tag in ("evaluation", "complete_generation")
    }


def run(script: str, params: str, pool: list[str], args, folder: Path) -> dict:
    out = folder / "run"
    extra = ["--data_dir", args.data_dir] if args.data_dir and "wlnn" in script else []
    command = [sys.executable, str(REPO / script), params, *pool, *extra,
               "--num_generations", str(args.generations), "--out_dir", str(out)]  # fmt: skip
    start = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stderr}")
    return {**generation_times(out), "wall": wall, "champion": (out / "champion.json").read_bytes()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data_dir", default=os.environ.get("EVOLEARN_DATA_DIR"))
    parser.add_argument("--generations", type=int, default=1, help="generations per run")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each pool")
    parser.add_argument("--only", nargs="+", choices=sorted(WORKLOADS))
    args = parser.parse_args()
    print(f"Machine: {os.cpu_count()} CPU cores; {args.generations} generation(s) per run, "
          f"{args.repeats} repeat(s)", flush=True)  # fmt: skip
    rows = []
    for name in args.only or list(WORKLOADS):
        script, params = WORKLOADS[name]
        measured: dict[str, list[dict]] = {pool: [] for pool in POOLS}
        for repeat in range(args.repeats):
            for pool, options in POOLS.items():
                with tempfile.TemporaryDirectory() as folder:
                    result = run(script, params, options, args, Path(folder))
                measured[pool].append(result)
                print(f"  {params}, {pool}, repeat {repeat + 1}: evaluation "
                      f"{result['evaluation']:.2f} s, generation "
                      f"{result['complete_generation']:.2f} s, command {result['wall']:.1f} s",
                      flush=True)  # fmt: skip
        champions = {r["champion"] for results in measured.values() for r in results}
        keys = ("evaluation", "complete_generation", "wall")
        median = {
            pool: {k: statistics.median(r[k] for r in results) for k in keys}
            for pool, results in measured.items()
        }
        rows.append((params, median, len(champions) == 1))
    local, dask = POOLS
    print()
    print("| workload | evaluation: local pool / Dask | overhead | generation: local / Dask "
          "| overhead | whole command: local / Dask | same champion |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for params, median, same in rows:
        cells = []
        for key in ("evaluation", "complete_generation"):
            a, b = median[local][key], median[dask][key]
            cells += [f"{a:.2f} s / {b:.2f} s", f"{100 * (b / a - 1):+.1f} %"]
        cells.append(f"{median[local]['wall']:.1f} s / {median[dask]['wall']:.1f} s")
        print(f"| {params} | {' | '.join(cells)} | {'yes' if same else 'NO'} |")


if __name__ == "__main__":
    main()
