"""Reporters shared by the evolution scripts: population statistics, stage times, the results
table, saved networks and the progress line with the time left."""

from __future__ import annotations

import csv
import time
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from evolearn.experiment.run import Run
from evolearn.genome import Genome
from evolearn.network_io import save_genome


class StageTimer:
    """Wall-clock seconds per named stage of one generation (``times/<stage>`` in tensorboard)."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start


def population_stats(genomes: Sequence[Genome]) -> dict[str, float]:
    """Mean and standard deviation of connections, neurons and layers over the population."""
    stats = {}
    for name, values in (
        ("connections", [g.num_connections for g in genomes]),
        ("neurons", [g.num_neurons for g in genomes]),
        ("layers", [g.num_layers for g in genomes]),
    ):
        stats[f"{name}_mean"] = float(np.mean(values))
        stats[f"{name}_std"] = float(np.std(values))
    return stats


class ResultsTable:
    """``results_summary.csv``: one row per generation (per epoch for the baseline), with a fixed
    set of columns."""

    def __init__(
        self,
        path: Path,
        columns: Sequence[str],
        *,
        append: bool = False,
        lineterminator: str = "\r\n",
    ):
        """``lineterminator``: csv's default; the baseline script's table has always ended its
        lines with ``\n``."""
        self.path = path
        self.columns = list(columns)
        self.lineterminator = lineterminator
        if not (append and path.exists()):
            with path.open("w", newline="") as f:
                self._writer(f).writerow(self.columns)

    def _writer(self, f):
        return csv.writer(f, lineterminator=self.lineterminator)

    def keep_until(self, generation: int) -> None:
        """Drop the rows after ``generation`` (written by a run after its last checkpoint)."""
        with self.path.open(newline="") as f:
            rows = list(csv.reader(f))
        kept = [rows[0]] + [r for r in rows[1:] if r and int(r[0]) <= generation]
        tmp = self.path.with_name(self.path.name + ".tmp")
        with tmp.open("w", newline="") as f:
            self._writer(f).writerows(kept)
        tmp.replace(self.path)

    def append(self, row: dict) -> None:
        unknown = set(row) - set(self.columns)
        if unknown:
            raise ValueError(f"unknown columns {sorted(unknown)}")
        with self.path.open("a", newline="") as f:
            self._writer(f).writerow([_cell(row.get(c)) for c in self.columns])


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


class GenerationProgress:
    """A progress bar over generations on a terminal, and one log line per generation with the
    mean time per generation and an estimate of the time left."""

    def __init__(self, run: Run, num_generations: int, first_generation: int = 1):
        self.run = run
        self.num_generations = num_generations
        self.bar = run.progress(num_generations, desc="generations")
        self.bar.update(first_generation - 1)
        self.start = time.perf_counter()
        self.done = 0

    def update(self, generation: int, summary: str, postfix: dict) -> None:
        self.done += 1
        elapsed = time.perf_counter() - self.start
        per_generation = elapsed / self.done
        left = per_generation * (self.num_generations - generation)
        self.bar.update(1)
        self.bar.set_postfix(postfix)
        self.run.log(
            f"Generation {generation}/{self.num_generations}: {summary} "
            f"[{per_generation:.2f} s/generation, {format_duration(left)} left]"
        )

    def close(self) -> None:
        self.bar.close()


def format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def save_population(run: Run, genomes: Sequence[Genome], generation: int, infos=None) -> Path:
    """Every network of a generation as ``networks/gen-XXXXX/net-XXX.json``."""
    folder = f"networks/gen-{generation:05d}"
    for index, genome in enumerate(genomes):
        info = {"generation": generation, "index": index}
        if infos is not None:
            info.update(infos[index])
        save_genome(genome, run.path(f"{folder}/net-{index:03d}.json"), info=info)
    return run.out_dir / folder


def save_champion(run: Run, genome: Genome, info: dict) -> None:
    """The champion as ``champion.json`` and, for its history, ``champions/gen-XXXXX.json``."""
    save_genome(genome, run.path(f"champions/gen-{info['generation']:05d}.json"), info=info)
    save_genome(genome, run.path("champion.json"), info=info)
