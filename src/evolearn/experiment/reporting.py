"""Reporters shared by the evolution scripts: population statistics, stage times, the results
table, saved networks and the progress line with the time left."""

from __future__ import annotations

import bz2
import csv
import logging
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


#: Scores that older versions wrote under another name: old name -> name now. The analysis
#: reads a run folder of either version (:func:`current_column_name`), and a resumed old run
#: continues under the new names. ``max_acc`` was never the maximum accuracy but the accuracy
#: at the weight value of the maximum reward.
RENAMED_SCORES = {"max_acc": "acc_at_max_reward"}


def current_column_name(column: str) -> str:
    """The name a column of ``results_summary.csv`` or ``population.csv.bz2`` (a score, or
    ``best_``, ``champion_``, ``champion_test_``... and a score) has now."""
    for old, new in RENAMED_SCORES.items():
        if column == old or column.endswith("_" + old):
            return column[: len(column) - len(old)] + new
    return column


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
    set of columns. Its column ``seconds`` is always the wall-clock seconds that the row's
    generation (or epoch) took; the baseline adds ``elapsed_seconds``, the seconds since its
    first epoch began."""

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
        """Drop the rows after ``generation`` (written by a run after its last checkpoint). A
        table of an older version gets the current names of renamed columns
        (:data:`RENAMED_SCORES`), which the rows of the resumed run go on with."""
        with self.path.open(newline="") as f:
            rows = list(csv.reader(f))
        kept = [[current_column_name(c) for c in rows[0]]]
        kept += [r for r in rows[1:] if r and int(r[0]) <= generation]
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
    ``acc_at_max_reward`` for the WANN scripts) with :data:`POPULATION_TABLE_DIGITS`
    significant digits, empty where a network failed (NaN in pandas), and ``connections``,
    ``neurons``, ``layers``.

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
        a stream cut short by a kill, keeping the other streams as they are; the file is
        rewritten atomically. A damaged stream before the end, or generations missing, are
        logged (the run goes on; the table has a gap there). The header of an older version's
        table gets the current names of renamed columns (:data:`RENAMED_SCORES`)."""
        streams, damaged = split_streams(self.path.read_bytes())
        if not streams:  # not even the header: the next generation writes it again
            self.path.unlink()
            self._new = True
            return
        first, newline, rest = streams[0][1].partition("\n")
        renamed = ",".join(current_column_name(c) for c in first.split(","))
        if renamed != first:
            text = renamed + newline + rest
            streams[0] = (_compressed(text), text)
        kept = [streams[0]] + [
            (raw, text) for raw, text in streams[1:] if _first_generation(text) <= generation
        ]
        found = [_first_generation(text) for _, text in kept[1:]]
        complete = found == list(range(1, generation + 1))
        if damaged or not complete:
            logging.getLogger(__name__).warning(
                f"{self.path.name}: {damaged} damaged stream(s) skipped; it holds generations "
                f"{_ranges(found)} of 1..{generation}, the checkpoint's (the missing ones are "
                f"lost from the table; the run itself continues unharmed)."
            )
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_bytes(b"".join(raw for raw, _ in kept))
        tmp.replace(self.path)


def _compressed(text: str) -> bytes:
    return bz2.compress(text.encode("ascii"), compresslevel=9)


def _first_generation(text: str) -> int:
    return int(text.split(",", 1)[0])


def _ranges(values: list[int]) -> str:
    """``[1, 2, 3, 5]`` as ``1..3, 5``."""
    if not values:
        return "none"
    parts, start = [], values[0]
    for previous, value in zip(values, [*values[1:], None], strict=True):
        if value != previous + 1:
            parts.append(f"{start}" if start == previous else f"{start}..{previous}")
            start = value
    return ", ".join(parts)


def split_streams(data: bytes) -> tuple[list[tuple[bytes, str]], int]:
    """The complete bzip2 streams of ``data`` as (bytes, text), and how many damaged streams
    were skipped; a last stream cut short (a kill while appending) is dropped silently."""
    streams, damaged = [], 0
    while data:
        decompressor = bz2.BZ2Decompressor()
        try:
            text = decompressor.decompress(data)
        except OSError:  # not bzip2 data from here: go on at the next stream's start
            following = data.find(b"BZh", 1)
            if following < 0:
                damaged += 1
                break
            damaged += 1
            data = data[following:]
            continue
        if not decompressor.eof:  # cut short at the end of the file
            break
        rest = decompressor.unused_data
        streams.append((data[: len(data) - len(rest)], text.decode("ascii")))
        data = rest
    return streams, damaged


def read_streams(path: Path) -> str:
    """The text of a file of bzip2 streams, without a last stream that a kill cut short (so
    the table of a run that is still going, or was killed, reads too)."""
    return "".join(text for _, text in split_streams(path.read_bytes())[0])


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


class GenerationProgress:
    """A progress bar over generations on a terminal, and one log line per generation with the
    mean time per generation and an estimate of the time left (every ``every`` generations,
    and the first and the last)."""

    def __init__(self, run: Run, num_generations: int, first_generation: int = 1, every: int = 1):
        self.run = run
        self.num_generations = num_generations
        self.every = every
        self.first = first_generation
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
        if generation % self.every and generation not in (self.first, self.num_generations):
            return
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
        save_genome(genome, run.path(f"{folder}/net-{index:03d}.json", atomic=True), info=info)
    return run.out_dir / folder


def save_champion(run: Run, genome: Genome, info: dict) -> None:
    """The champion as ``champion.json`` and, for its history, ``champions/gen-XXXXX.json``."""
    save_genome(
        genome, run.path(f"champions/gen-{info['generation']:05d}.json", atomic=True), info=info
    )
    save_genome(genome, run.path("champion.json", atomic=True), info=info)
