#!/usr/bin/env python3
"""How long ``python -m evolearn.plot`` takes for a full-size run, without retraining.

    python benchmarks/analysis_speed.py            # about 2 minutes to build, then the timing

The issue's bound: all figures of a 1000-generation run of 180 networks within 30 s, not
counting the retraining of the control and the learning curves.

A run folder of that size is built the way run-wlnn-mnist.py writes one, through the
toolkit's own writers: ``population.csv.bz2`` (1000 generations x 180 networks),
``results_summary.csv`` (a champion test every 20 generations), the populations of
generations 1, 100, ..., 1000 as JSON (180 networks each, 300 to 1,500 connections, MNIST's
256 inputs), ``champion.json`` (1,500 connections) and ``params.yaml``. The scores are random;
the sizes are those of the thesis's runs. Then the plot command runs on it in a fresh process
(its start-up included), once for one run and once for four such runs overlaid.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from evolearn import streams
from evolearn.analysis.retraining import random_network
from evolearn.experiment.reporting import PopulationTable, ResultsTable
from evolearn.network_io import save_genome
from evolearn.search.loop import WORST_SCORE
from evolearn.wlnn import evolution

PARAMS = yaml.safe_load(
    (Path(__file__).resolve().parents[1] / "params/wlnn/backprop.yaml").read_text()
)
BOUND_SECONDS = 30


def build_run(folder: Path, generations: int, size: int, genomes: list, seed: int) -> None:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    (folder / "params.yaml").write_text(yaml.safe_dump({**PARAMS, "seed": seed}))
    table = PopulationTable(folder / "population.csv.bz2")
    columns = [
        "generation", "best_reward", "best_acc", "champion_generation", "champion_reward",
        "champion_acc", "champion_connections", "champion_long_training_reward",
        "champion_long_training_acc", "champion_test_reward", "champion_test_acc",
        "connections_mean", "neurons_mean", "layers_mean", "seconds",
    ]  # fmt: skip
    summary = ResultsTable(folder / "results_summary.csv", columns)
    saved = {1, generations, *range(100, generations + 1, 100)}
    for generation in range(1, generations + 1):
        accs = np.clip(rng.normal(0.5 + 0.4 * generation / generations, 0.05, size), 0, 1)
        rewards = -rng.uniform(0.2, 1.5, size)
        # the networks grow with the generations, as the thesis's do
        grown = min(len(genomes) - 1, generation * len(genomes) // generations)
        population = [genomes[max(0, grown - int(k))] for k in rng.integers(0, 3, size)]
        table.append(generation, {"reward": rewards, "acc": accs}, population,
                     failed_below=WORST_SCORE)  # fmt: skip
        tested = generation % 20 == 0
        summary.append(
            {
                "generation": generation, "best_reward": rewards.max(), "best_acc": accs.max(),
                "champion_generation": generation, "champion_reward": rewards.max(),
                "champion_acc": accs.max(),
                "champion_connections": population[0].num_connections,
                "champion_test_acc": accs.max() if tested else None,
                "champion_test_reward": rewards.max() if tested else None,
                "connections_mean": np.mean([g.num_connections for g in population]),
                "neurons_mean": 0.0, "layers_mean": 0.0, "seconds": 1.0,
            }
        )  # fmt: skip
        if generation in saved:
            gen_folder = folder / "networks" / f"gen-{generation:05d}"
            gen_folder.mkdir(parents=True)
            for index, genome in enumerate(population):
                info = {"generation": generation, "index": index, "reward": float(rewards[index]),
                        "acc": float(accs[index])}  # fmt: skip
                save_genome(genome, gen_folder / f"net-{index:03d}.json", info)
    save_genome(genomes[-1], folder / "champion.json", {"generation": generations, "index": 0})


def time_plot(runs: list[Path], out: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "evolearn.plot", *map(str, runs), "--out", str(out)],
        check=True, capture_output=True,
    )  # fmt: skip
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--generations", type=int, default=1000)
    parser.add_argument("--population_size", type=int, default=180)
    args = parser.parse_args()
    print("growing networks of 300 to 1,500 connections ...")
    params = {**PARAMS}
    genomes = [
        random_network(params, n, streams.stream(0, n, streams.RANDOM_NETWORK))
        for n in range(300, 1501, 100)
    ]
    assert evolution.LONG_TRAINING_EVERY == 20
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        runs = []
        for number, rule in enumerate(("backprop", "feedback_alignment", "hebbian", "last_layer")):
            folder = root / rule
            if number == 0:
                build_run(folder, args.generations, args.population_size, genomes, number)
            else:  # the same files under another rule: the plot's work is the same
                shutil.copytree(root / "backprop", folder)
                params_file = folder / "params.yaml"
                saved = yaml.safe_load(params_file.read_text())
                params_file.write_text(yaml.safe_dump({**saved, "learning_rule": rule}))
            runs.append(folder)
        print(f"built {len(runs)} run folders in {time.perf_counter() - start:.0f} s")
        one = time_plot(runs[:1], root / "figures-one")
        four = time_plot(runs, root / "figures-four")
        print(
            f"python -m evolearn.plot, one run of {args.generations} generations x "
            f"{args.population_size} networks: {one:.1f} s (bound {BOUND_SECONDS} s): "
            f"{'within' if one <= BOUND_SECONDS else 'OVER'}"
        )
        print(f"python -m evolearn.plot, four such runs overlaid: {four:.1f} s")


if __name__ == "__main__":
    main()
