"""Reporters shared by the evolution scripts: population statistics, stage times, the results
table, saved networks and the progress line with the time left."""

from __future__ import annotations

import bz2
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


#: The table of every network of every generation, in each evolution run's folder.
POPULATION_TABLE_FILE = "population.csv.bz2"
#: Significant digits of the scores in the population table (the networks' JSON files and the
#: champion files keep them exactly); enough for any figure or statistic, and what keeps a
#: 4096-generation run of 960 networks within 50 MB.
POPULATION_TABLE_DIGITS = 5


class PopulationTable:
    """``population.csv.bz2``: one row per network per generation, read with one call,
    ``pandas.read_csv(path)``.

    Columns: ``generation``, ``index`` (the network's place in the generation, as in
    ``networks/gen-XXXXX/net-XXX.json``), one column per score (``reward``, ``acc`` for
    run-wlnn-mnist.py; ``mean_reward``, ``max_reward`` and, for classification, ``mean_acc``,
    ``max_acc`` for the WANN scripts) with :data:`POPULATION_TABLE_DIGITS` significant digits,
    empty where a network failed (NaN in pandas), and ``connections``, ``neurons``, ``layers``.

    Each generation is appended as its own bzip2 stream (a file of several streams is read as
    one, by Python's bz2 module and so by pandas), so appending never rewrites the file and a
    run killed while appending loses at most that generation's stream, which
    :meth:`keep_until` drops on resume. bzip2 rather than gzip: these rows of noisy digits
    compress a fifth better (``benchmarks/population_table.py``).
    """

    def __init__(self, path: Path, *, append: bool = False):
        """A new table (the header is written with the first generation) or, with ``append``,
        the table of a resumed run."""
        self.path = path
        self._new = not (append and path.exists())

    def _write_new(self, lines: Sequence[str]) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_bytes(_compressed("".join(line + "\n" for line in lines)))
        tmp.replace(self.path)

    def append(
        self,
        generation: int,
        scores: dict[str, np.ndarray],
        genomes: Sequence[Genome],
        *,
        failed_below: float,
    ) -> None:
        """One generation's rows, a column per score in the order of ``scores``; a score at or
        below ``failed_below`` (the worst score a failed network gets) is written as empty."""
        keys = list(scores)
        if self._new:
            header = ["generation", "index", *keys, "connections", "neurons", "layers"]
            self._write_new([",".join(header)])
            self._new = False
        values = [np.asarray(scores[key], dtype=np.float64) for key in keys]
        digits = POPULATION_TABLE_DIGITS
        lines = []
        for index, genome in enumerate(genomes):
            cells = [f"{v[index]:.{digits}g}" if v[index] > failed_below else "" for v in values]
            lines.append(
                f"{generation},{index},{','.join(cells)},{genome.num_connections},"
                f"{genome.num_neurons},{genome.num_layers}\n"
            )
        with self.path.open("ab") as f:
            f.write(_compressed("".join(lines)))

    def keep_until(self, generation: int) -> None:
        """Drop the rows after ``generation`` (written by a run after its last checkpoint) and
        a stream cut short by a kill; the file is rewritten atomically."""
        lines = read_streams(self.path).splitlines()
        kept = [lines[0]] + [
            line for line in lines[1:] if line and int(line.split(",", 1)[0]) <= generation
        ]
        self._write_new(kept)


def _compressed(text: str) -> bytes:
    return bz2.compress(text.encode("ascii"), compresslevel=9)


def read_streams(path: Path) -> str:
    """The text of a file of bzip2 streams, without a last stream that a kill cut short."""
    data = path.read_bytes()
    text = []
    while data:
        decompressor = bz2.BZ2Decompressor()
        try:
            chunk = decompressor.decompress(data)
        except OSError:  # not bzip2 data
            break
        if not decompressor.eof:  # cut short
            break
        text.append(chunk.decode("ascii"))
        data = decompressor.unused_data
    return "".join(text)


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
