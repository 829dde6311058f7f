"""The generation loop every script runs, whatever its search.

A search is a :class:`~evolearn.search.strategy.Strategy` that the loop drives, the shape that
evosax, EvoTorch and pycma share: each generation the loop asks it for candidates, evaluates
them, updates the champion (and tests it when due), reports, and tells the strategy their
scores. The loop owns what every run has: Ctrl-C and SIGTERM, checkpoints and resume, the
champion, the failed networks' worst scores, tensorboard's ``best/`` and ``champion/`` tags,
the results table, the progress bar and the last line of the log.

A family subclasses :class:`GenerationLoop` with its strategy, its evaluation and its files:
:class:`~evolearn.search.loop.EvolutionLoop` (the NSGA-II search over network genomes of the
WANN and WLNN scripts) and :class:`~evolearn.hebbian.search.HebbianLoop` (the evolution
strategy over Hebbian coefficients).

Every random decision comes from a stream of :mod:`evolearn.streams`, keyed by the run seed,
the generation and an index, so a run does not depend on the number of workers.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from evolearn.errors import Interrupted, WorkerFailure
from evolearn.experiment.checkpoint import (
    CHECKPOINT_FILE,
    TEMPORARY_CHECKPOINT_FILE,
    save_checkpoint,
)
from evolearn.experiment.parsing import Params
from evolearn.experiment.reporting import (
    RENAMED_SCORES,
    GenerationProgress,
    ResultsTable,
    StageTimer,
)
from evolearn.experiment.run import Run
from evolearn.experiment.workers import Pool, open_pool, parse_scheduler, worker_count
from evolearn.search.strategy import Strategy

#: The score a network gets when its evaluation gives NaN or infinity, or raises.
WORST_SCORE = -1e30


class InterruptGuard:
    """Ctrl-C and SIGTERM for a run: the first stops it, a second one exits at once (leaving
    the last checkpoint written).

    The first signal raises KeyboardInterrupt at once only inside :meth:`interruptible` (the
    evaluations, where a run spends its time); anywhere else (reporting, writing a checkpoint
    or the log) it is held until the next interruptible stretch begins. An exception raised by
    a signal handler can land half-way through thread synchronisation: seen here, a Ctrl-C
    inside a tensorboard scalar's ``Condition.notify`` (tensorboardX's multiprocessing queue)
    left its feeder thread asleep for ever, and the run hung after writing its checkpoint, in
    the join of tensorboard's writer thread."""

    def __init__(self):
        self.pending = False
        self._interruptible = False
        self._previous: dict = {}

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return

        def exit_now(signum, frame):
            os._exit(128 + signum)

        def first(signum, frame):
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, exit_now)
            self.pending = True
            if self._interruptible:
                self.pending = False
                raise KeyboardInterrupt

        self._previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        for sig in self._previous:
            signal.signal(sig, first)

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}

    def check(self) -> None:
        """Raise KeyboardInterrupt if a signal came while it was held."""
        if self.pending:
            self.pending = False
            raise KeyboardInterrupt

    @contextmanager
    def interruptible(self):
        """A stretch of pure computation that a signal interrupts at once."""
        self.check()
        self._interruptible = True
        try:
            yield
        finally:
            self._interruptible = False


@dataclass
class Champion:
    """The best candidate so far: what was evolved (a network :class:`~evolearn.genome.Genome`,
    or the evolution strategy's parameter vector), as evaluated, and its scores by name."""

    genome: Any
    generation: int
    index: int
    scores: dict[str, float] = field(default_factory=dict)

    def info(self) -> dict:
        return {"generation": self.generation, "index": self.index, **self.scores}


class GenerationLoop:
    """Ask, evaluate, champion, report, tell, for ``params.num_generations`` generations.

    Subclasses implement :meth:`new_strategy`, :meth:`restore_strategy`, :meth:`evaluate`,
    :meth:`save_champion_files` and :meth:`checkpoint_state`, and may override the other hooks.
    ``evaluate`` returns scores by name, each an array ``[candidates]``, maximised; the key
    ``CHAMPION_KEY`` decides the champion.
    """

    #: The score that decides the generation's best and the champion.
    CHAMPION_KEY = "reward"
    #: Scores whose maximum over the candidates is written as ``best/<name>`` each generation.
    BEST_KEYS: tuple[str, ...] = ("reward",)
    #: Champion scores written as ``champion/<name>`` each generation.
    CHAMPION_KEYS: tuple[str, ...] = ("reward",)
    #: Results-table columns of the champion's size, after its scores (see champion_size).
    CHAMPION_SIZE_COLUMNS: tuple[str, ...] = ()
    #: Results-table columns describing the generation's candidates (see population_summary).
    POPULATION_COLUMNS: tuple[str, ...] = ()
    #: The champion's file in the run folder (the last line of the log names it).
    CHAMPION_FILE = "champion.json"

    def __init__(self, params: Params, run: Run, pool: Pool):
        self.params = params
        self.run = run
        self.pool = pool
        self.champion: Champion | None = None
        self.strategy: Strategy | None = None
        self.interrupts = InterruptGuard()
        self.timer = StageTimer()
        self.table = ResultsTable(
            run.path("results_summary.csv", atomic=True),
            self.table_columns(),
            append=run.resume_state is not None,
        )

    # --- hooks ---------------------------------------------------------------------------

    def new_strategy(self) -> Strategy:
        """The search at its start (generation 1 asks it first)."""
        raise NotImplementedError

    def restore_strategy(self, state: dict) -> Strategy:
        """The search as a checkpoint (:meth:`checkpoint_state`) left it."""
        raise NotImplementedError

    def evaluate(self, candidates: list, generation: int) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def save_champion_files(self, champion: Champion) -> None:
        """Write a new champion's files."""
        raise NotImplementedError

    def checkpoint_state(self, generation: int) -> dict:
        """Everything needed to continue after ``generation`` (the strategy has been told)."""
        raise NotImplementedError

    def champion_candidate(
        self, candidate, scores: dict[str, float], generation: int
    ) -> dict[str, float] | None:
        """The scores with which the generation's best would become champion, or None.

        Called only when the best beats the champion on ``CHAMPION_KEY``; a task that checks
        candidates again (on the whole training set, with more trials) does it here.
        """
        return scores

    def start(self, candidates: list) -> None:
        """Generation 0, before the first evaluation."""

    def due_for_test(self, generation: int) -> bool:
        return False

    def champion_test_scores(self, generation: int) -> dict[str, float]:
        """Scores of the champion on its test (``champion/<name>`` in tensorboard)."""
        return {}

    def champion_test_keys(self) -> tuple[str, ...]:
        return ()

    def after_generation(
        self, candidates: list, scores: dict[str, np.ndarray], generation: int
    ) -> None:
        """Extra reporting of an evaluated generation (saved networks, histograms)."""

    def champion_size(self) -> dict[str, float]:
        """The champion's size, ``champion/<name>`` in tensorboard and ``champion_<name>`` in
        the results table (for the columns of CHAMPION_SIZE_COLUMNS)."""
        return {}

    def population_summary(
        self, generation: int, candidates: list, scores: dict[str, np.ndarray]
    ) -> dict[str, float]:
        """What the results table says of the generation's candidates (POPULATION_COLUMNS);
        may write more of them to the run."""
        return {}

    def champion_description(self) -> str:
        """What the run's last line says of the champion after its scores."""
        return ""

    # --- the loop ------------------------------------------------------------------------

    def table_columns(self) -> list[str]:
        return (
            ["generation"]
            + [f"best_{k}" for k in self.BEST_KEYS]
            + ["champion_generation"]
            + [f"champion_{k}" for k in self.CHAMPION_KEYS]
            + [f"champion_{k}" for k in self.CHAMPION_SIZE_COLUMNS]
            + [f"champion_{k}" for k in self.champion_test_keys()]
            + list(self.POPULATION_COLUMNS)
            + ["seconds"]
        )

    def set_champion(self, candidate, generation: int, index: int, scores: dict) -> None:
        self.champion = Champion(
            candidate, generation, index, {k: float(v) for k, v in scores.items()}
        )
        self.save_champion_files(self.champion)

    def update_champion(
        self, candidates: list, scores: dict[str, np.ndarray], generation: int
    ) -> bool:
        key = self.CHAMPION_KEY
        best = int(np.argmax(scores[key]))
        if self.champion is not None and not scores[key][best] > self.champion.scores[key]:
            return False
        with self.interrupts.interruptible():
            candidate = self.champion_candidate(
                candidates[best], {k: float(v[best]) for k, v in scores.items()}, generation
            )
        if candidate is None:
            return False
        if self.champion is not None and not candidate[key] > self.champion.scores[key]:
            return False
        self.set_champion(candidates[best], generation, best, candidate)
        return True

    def write_checkpoint(self, state: dict) -> None:
        self.run.record(CHECKPOINT_FILE, TEMPORARY_CHECKPOINT_FILE)
        save_checkpoint(self.run.out_dir, state)
        self._checkpointed_generation = state["generation"]

    def sanitize(self, scores: dict[str, np.ndarray], generation: int) -> dict[str, np.ndarray]:
        """Networks with a NaN or infinite score (a diverging Hebbian network, or one whose
        evaluation raised) get the worst possible scores; they are counted and logged."""
        failed = np.zeros(len(scores[self.CHAMPION_KEY]), dtype=bool)
        for values in scores.values():
            failed |= ~np.isfinite(values)
        self.run.scalar("failures/networks", int(failed.sum()), generation)
        if failed.any():
            self.run.log(
                f"Generation {generation}: {int(failed.sum())} network(s) gave NaN or infinite "
                f"scores (indices {np.flatnonzero(failed).tolist()[:20]}); they get the worst "
                f"possible scores ({WORST_SCORE:g})."
            )
            scores = {k: np.where(failed, WORST_SCORE, v) for k, v in scores.items()}
        return scores

    def evolve(self) -> Champion:
        params, run = self.params, self.run
        num_generations = params.num_generations
        state = run.resume_state
        if state is not None:
            self.strategy = self.restore_strategy(state)
            saved = state["champion"]
            # an older version's checkpoint may name a score as it was then
            scores = {RENAMED_SCORES.get(k, k): v for k, v in saved["scores"].items()}
            self.champion = Champion(**{**saved, "scores": scores})
            first = state["generation"] + 1
            self._checkpointed_generation = state["generation"]
            self.table.keep_until(state["generation"])
            self.resumed(state)
        else:
            self.strategy = self.new_strategy()
            first = 1
            self._checkpointed_generation = 0
        self._latest_state = None
        self.interrupts.install()
        try:
            if state is None:
                self.start(self.strategy.ask())  # generation 0 (WLNN scores it in the pool)
            self._generations(first, num_generations)
        except KeyboardInterrupt:
            self.pool.terminate()
            self._stop(Interrupted, "Interrupted")
        except WorkerFailure as err:
            self.pool.terminate()
            self._stop(type(err), str(err), err.resume_options)
        finally:
            self.interrupts.restore()
        return self.champion

    def resumed(self, state: dict) -> None:
        """After the strategy and the champion came back from a checkpoint: cut the run's own
        tables back to its generation."""

    def _generations(self, first: int, num_generations: int) -> None:
        run = self.run
        progress = GenerationProgress(
            run, num_generations, first, every=self.params.get("print_every", 1)
        )
        for generation in range(first, num_generations + 1):
            self.timer = StageTimer()
            start = time.perf_counter()
            restarts = self.pool.restarts
            candidates = self.strategy.ask()
            with self.timer.stage("evaluation"), self.interrupts.interruptible():
                scores = self.evaluate(candidates, generation)
            scores = self.sanitize(scores, generation)
            run.scalar("failures/worker_restarts", self.pool.restarts - restarts, generation)
            with self.timer.stage("champion_evaluation"):
                improved = self.update_champion(candidates, scores, generation)
                tested = {}
                if self.due_for_test(generation):
                    with self.interrupts.interruptible():
                        tested = self.champion_test_scores(generation)
            run.mark_started()
            self.after_generation(candidates, scores, generation)
            self.strategy.tell(candidates, scores, generation)
            self.timer.seconds["complete_generation"] = time.perf_counter() - start
            self.report(generation, candidates, scores, tested)
            self._latest_state = self.checkpoint_state(generation)
            if generation % self.params.checkpoint_every == 0 or generation == num_generations:
                self.write_checkpoint(self._latest_state)
            progress.update(
                generation,
                self.summary(scores, improved=improved, tested=tested),
                self.postfix(scores),
            )
        progress.close()

    def _stop(self, error: type[Exception], reason: str, resume_options: str = "") -> None:
        """Checkpoint the last complete generation, say how to resume (the command, with
        ``resume_options`` at its end), and stop the run."""
        latest = self._latest_state
        if latest is not None and latest["generation"] != self._checkpointed_generation:
            self.write_checkpoint(latest)
        out = self.run.out_dir
        if self._checkpointed_generation:
            how = (
                f"the checkpoint of generation {self._checkpointed_generation} is in {out}. "
                f"Resume with: python {self.params.script} {out / 'params.yaml'} --resume {out}"
                f"{resume_options}"
            )
        else:
            how = (
                f"no generation was complete; the same command starts the run again in {out}: "
                f"python {self.params.script} {out / 'params.yaml'} --resume {out}"
                f"{resume_options}"
            )
        message = f"{reason}: {how}"
        self.run.log(message, console=False)  # the console gets it once, as the error
        self.run.flush()
        raise error(message)

    # --- reporting -----------------------------------------------------------------------

    def report_champion(self, step: int, tested: dict[str, float]) -> None:
        champion, run = self.champion, self.run
        for key in self.CHAMPION_KEYS:
            run.scalar(f"champion/{key}", champion.scores[key], step)
        for key, value in self.champion_size().items():
            run.scalar(f"champion/{key}", value, step)
        for key, value in tested.items():
            run.scalar(f"champion/{key}", value, step)

    def report(
        self,
        generation: int,
        candidates: list,
        scores: dict[str, np.ndarray],
        tested: dict[str, float],
    ) -> None:
        run = self.run
        best = {key: float(np.max(scores[key])) for key in self.BEST_KEYS}
        for key, value in best.items():
            run.scalar(f"best/{key}", value, generation)
        self.report_champion(generation, tested)
        summary = self.population_summary(generation, candidates, scores)
        for name, seconds in self.timer.seconds.items():
            run.scalar(f"times/{name}", seconds, generation)
        champion = self.champion
        size = self.champion_size()
        self.table.append(
            {
                "generation": generation,
                **{f"best_{k}": v for k, v in best.items()},
                "champion_generation": champion.generation,
                **{f"champion_{k}": champion.scores[k] for k in self.CHAMPION_KEYS},
                **{f"champion_{k}": size[k] for k in self.CHAMPION_SIZE_COLUMNS},
                **{f"champion_{k}": v for k, v in tested.items() if k in self.champion_test_keys()},
                **{k: summary[k] for k in self.POPULATION_COLUMNS},
                # the seconds this generation took (not the time since the run began)
                "seconds": round(self.timer.seconds["complete_generation"], 3),
            }
        )
        run.flush()

    def summary(self, scores: dict[str, np.ndarray], *, improved: bool, tested: dict) -> str:
        """One log line: the generation's best, the champion, and test scores if measured."""
        best = ", ".join(f"{k} {np.max(scores[k]):.4f}" for k in self.BEST_KEYS)
        champion = ", ".join(f"{k} {self.champion.scores[k]:.4f}" for k in self.CHAMPION_KEYS)
        text = f"best {best} | champion {champion}" + (" (new)" if improved else "")
        if tested:
            text += " | champion " + ", ".join(f"{k} {v:.4f}" for k, v in tested.items())
        return text

    def final_scores(self) -> str:
        """The champion's scores for the last line of the run: ``CHAMPION_KEYS`` first, in
        their order, then any other score by name, so that the line of a resumed run (whose
        champion comes from a checkpoint) is the line of an uninterrupted one."""
        scores = self.champion.scores
        keys = [k for k in self.CHAMPION_KEYS if k in scores]
        keys += sorted(set(scores) - set(keys))
        return ", ".join(f"{k} {scores[k]:.4f}" for k in keys)

    def postfix(self, scores: dict[str, np.ndarray]) -> dict[str, str]:
        """What the progress bar shows: the champion's scores (the best so far)."""
        return {f"champion_{k}": f"{self.champion.scores[k]:.4f}" for k in self.CHAMPION_KEYS}


def run_evolution(
    params: Params,
    make_loop: Callable[[Run, Pool], GenerationLoop],
    shared: dict[str, np.ndarray] | None = None,
    notes: Sequence[str | None] = (),
) -> Champion:
    """Open the run folder and the pool (the local processes, or a Dask cluster with
    ``params.scheduler``), evolve, and log the champion.

    ``make_loop(run, pool)`` builds the script's loop; ``shared`` are the arrays every worker
    needs (the dataset); ``notes`` are logged first (None entries are skipped).
    """
    scheduler = params.get("scheduler")
    num_workers, worker_notes = worker_count(params.num_workers, params.population_size)
    if parse_scheduler(scheduler) is not None:
        worker_notes = [f"Worker processes: those of the Dask cluster (--scheduler {scheduler})"]
        if params.num_workers > 1:
            worker_notes.append(f"--num_workers {params.num_workers} is not used with --scheduler")
    with Run.create(params) as run:
        for note in [*notes, *worker_notes]:
            if note:
                run.log(note)
        with open_pool(num_workers, shared, run.log, scheduler) as pool:
            loop = make_loop(run, pool)
            champion = loop.evolve()
        described = loop.champion_description()
        run.log(
            f"Done. Champion from generation {champion.generation}: {loop.final_scores()}"
            f"{', ' + described if described else ''}; saved as {loop.CHAMPION_FILE}"
        )
    return champion
