#!/usr/bin/env python3
"""The size of population.csv.bz2 for a full run, and how fast it is written and read.

    python benchmarks/population_table.py                    # about 3 minutes on 2 cores
    python benchmarks/population_table.py --real_generations 0   # the synthetic table only

1. Synthetic, the worst case: 4096 generations of 960 networks with the columns of
   run-wann-classification.py (four scores), every score drawn independently (real scores of
   related networks repeat and compress better). Written through the toolkit's
   PopulationTable, one generation at a time as a run does; then read with pandas.
2. Real: ``run-wann-classification.py params/wann-classification/digits.yaml`` with 960
   networks for ``--real_generations`` generations; its table's bytes per generation (after
   the first, which is all initial networks), projected to 4096 generations.

The issue's bound: a 4096-generation run of 960 networks within 50 MB.
"""

from __future__ import annotations

import argparse
import bz2
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from evolearn.experiment.reporting import POPULATION_TABLE_FILE, PopulationTable
from evolearn.genome import Genome

REPO = Path(__file__).resolve().parents[1]
BOUND_MB = 50


def chain(num_hidden: int) -> Genome:
    """A network with ``num_hidden`` hidden neurons (its size is what the table records)."""
    layer = np.array([0, 1] + list(range(2, 2 + num_hidden)))
    layer[1] = num_hidden + 1
    order = [0] + list(range(2, 2 + num_hidden)) + [1]
    connections = np.array(list(zip(order[:-1], order[1:], strict=True)))
    return Genome(1, 1, layer, connections, None, np.zeros(len(layer), np.int64))


def synthetic(folder: Path, generations: int, size: int) -> None:
    rng = np.random.default_rng(0)
    path = folder / "synthetic.csv.bz2"
    table = PopulationTable(path)
    # a few network sizes to draw from (their structure does not matter, only the numbers)
    genomes = [chain(n) for n in range(20, 60)]
    start = time.perf_counter()
    for generation in range(1, generations + 1):
        hits = rng.binomial(1000, rng.uniform(0.1, 0.9, (size, 1)), (size, 6))
        mean_reward = -rng.normal(1.5, 0.3, size)
        scores = {
            "mean_reward": mean_reward,
            "max_reward": mean_reward + rng.uniform(0, 0.5, size),
            "mean_acc": hits.mean(1) / 1000,
            "acc_at_max_reward": hits.max(1) / 1000,
        }
        population = [genomes[i] for i in rng.integers(len(genomes), size=size)]
        table.append(generation, scores, population, failed_below=-1e30)
    written = time.perf_counter() - start
    start = time.perf_counter()
    frame = pd.read_csv(path)
    read = time.perf_counter() - start
    mb = path.stat().st_size / 1e6
    print(f"synthetic: {generations} generations x {size} networks = {len(frame)} rows")
    print(f"  size {mb:.1f} MB (bound {BOUND_MB} MB): {'within' if mb <= BOUND_MB else 'OVER'}")
    print(f"  written in {written:.1f} s ({1000 * written / generations:.2f} ms per generation)")
    print(f"  read with pandas.read_csv in {read:.1f} s")


def stream_sizes(path: Path) -> list[int]:
    """The bytes of each bzip2 stream of the file."""
    data, sizes = path.read_bytes(), []
    while data:
        decompressor = bz2.BZ2Decompressor()
        decompressor.decompress(data)
        sizes.append(len(data) - len(decompressor.unused_data))
        data = decompressor.unused_data
    return sizes


def real(folder: Path, generations: int, size: int, full_generations: int) -> None:
    out = folder / "run"
    command = [
        sys.executable,
        str(REPO / "run-wann-classification.py"),
        str(REPO / "params/wann-classification/digits.yaml"),
        "--population_size",
        str(size),
        "--num_generations",
        str(generations),
        "--num_workers",
        "2",
        "--out_dir",
        str(out),
    ]
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    seconds = time.perf_counter() - start
    path = out / POPULATION_TABLE_FILE
    whole = path.stat().st_size
    sizes = stream_sizes(path)  # the header's stream, then one per generation
    assert len(sizes) == generations + 1, len(sizes)
    per_generation = sum(sizes[2:]) / (generations - 1)
    projected = (whole + per_generation * (full_generations - generations)) / 1e6
    print(
        f"real: digits, {generations} generations x {size} networks in {seconds:.0f} s: "
        f"{whole / 1e3:.0f} kB, {per_generation / 1e3:.1f} kB per generation after the first"
    )
    print(
        f"  projected to {full_generations} generations: {projected:.1f} MB "
        f"(bound {BOUND_MB} MB): {'within' if projected <= BOUND_MB else 'OVER'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--generations", type=int, default=4096)
    parser.add_argument("--population_size", type=int, default=960)
    parser.add_argument("--real_generations", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        synthetic(Path(tmp), args.generations, args.population_size)
        if args.real_generations > 1:
            real(Path(tmp), args.real_generations, args.population_size, args.generations)


if __name__ == "__main__":
    main()
