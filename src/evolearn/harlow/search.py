"""run-harlow-baldwin.py: the Baldwin effect on the Harlow task (the Neuromatch NeuroAI
tutorial W2D4 T4), on the toolkit's run machinery.

Generation 0 scores the initial population (``population_size`` newborns, PyTorch's default
initialisation and the tutorial's hyperparameters); each later generation makes
``num_children`` children by the steady-state GA of :mod:`evolearn.harlow.genetics`, scores
them, and puts them in the place of as many random members. An individual's score is the sum,
over ``num_tasks`` new problems, of its evaluation score after learning the problem for one
lifetime (:mod:`evolearn.harlow.lifetime`): with ``inheritance: baldwinian`` each problem is
learned from the inherited weights and the genome stays as it was; with ``lamarckian`` the
problems are learned one after the other, each from the weights the previous one left (the
course's answer, "change the base parameters of the agent each time it learns a new task"),
and the genome becomes the weights learned at the end. The hyperparameters are genetic in both.

Random streams (:mod:`evolearn.streams`): a generation's problems are the same for all its
individuals (environment seeds of the stream (seed, generation, EVALUATE, 0)); individual i's
action draws on problem p come from (seed, generation, ACTIONS, i * num_tasks + p); the parents
and children from (seed, generation, REPRODUCE), the members that leave from (seed,
generation, CULL), the newborns of generation 0 from (seed, 0, INIT, i). A run's numbers do not
depend on the number of workers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evolearn import streams
from evolearn.envs.harlow import HarlowProblems
from evolearn.errors import ParamError, UserError
from evolearn.experiment.options import RUN_OPTIONS, value_range
from evolearn.experiment.parsing import Params, ScriptSpec, parse_params
from evolearn.experiment.run import Run
from evolearn.experiment.workers import ChunkResults, Pool, SharedArrays
from evolearn.harlow import genetics
from evolearn.harlow.agent import (
    HYPERPARAMETERS,
    INITIAL_HYPERPARAMETERS,
    Lifetime,
    flatten,
    initial_parameters,
    parameter_count,
    unflatten,
)
from evolearn.harlow.lifetime import learn
from evolearn.search.generations import Champion, GenerationLoop, run_evolution
from evolearn.search.strategy import Strategy

#: Base seeds of the problems are drawn below this bound (base + problem fits an int32).
MAX_BASE_SEED = 2**31 - 1 - 100_000


def check_population_constants(params: Params) -> None:
    size = params.population_size
    if params.tournament_size > size:
        raise ParamError(
            f"tournament_size ({params.tournament_size}) is larger than population_size "
            f"({size}): the parents are drawn from the tournament_size best members."
        )
    if params.num_parents > size:
        raise ParamError(
            f"num_parents ({params.num_parents}) is larger than population_size ({size}): "
            f"the parents are members of the population."
        )
    if params.num_children >= size:
        raise ParamError(
            f"num_children ({params.num_children}) must be below population_size ({size}): "
            f"as many members leave the population each generation."
        )


SPEC = ScriptSpec(
    name="run-harlow-baldwin.py",
    description="Evolve the initial weights and learning hyperparameters of an actor-critic "
    "LSTM that learns each new Harlow problem in its lifetime (the Baldwin effect).",
    options=(
        "num_generations",
        "population_size",
        "tournament_size",
        "num_parents",
        "num_children",
        "inheritance",
        "parameter_noise",
        *(f"{name}_noise" for name in HYPERPARAMETERS),
        *(f"{name}_range" for name in HYPERPARAMETERS),
        "num_tasks",
        "num_gradient_steps",
        "num_episode_trials",
        "num_evaluation_trials",
        "hidden_size",
        *RUN_OPTIONS,
    ),
    # the tutorial's GA: 50 members, the top 20, 800 generations
    defaults={"population_size": 50, "tournament_size": 20, "num_generations": 800},
    checks=(check_population_constants,),
    aliases={"new_generation_new_individuals": "num_children", "parents_size": "num_parents"},
)


def mutation_of(params) -> genetics.Mutation:
    ranges = [value_range(params[f"{name}_range"]) for name in HYPERPARAMETERS]
    return genetics.Mutation(
        parameter_noise=params["parameter_noise"],
        noise=tuple(params[f"{name}_noise"] for name in HYPERPARAMETERS),
        low=tuple(lo for lo, _ in ranges),
        high=tuple(hi for _, hi in ranges),
    )


def lifetime_of(params) -> Lifetime:
    return Lifetime(
        params["num_gradient_steps"], params["num_episode_trials"], params["num_evaluation_trials"]
    )


@dataclass(frozen=True)
class Individuals:
    """Individuals to score: ``params [n, size]`` (float32, flat), ``hyper [n, 4]``, and
    their indices in the generation (their action streams)."""

    params: np.ndarray
    hyper: np.ndarray
    indices: range

    def __len__(self) -> int:
        return len(self.hyper)

    def __getitem__(self, i: int) -> int:
        """The loop's handle of individual i (its genome is :meth:`HarlowLoop.genome`)."""
        return i


@dataclass(frozen=True)
class LifetimeTask:
    """A chunk of a generation's individuals and what they learn."""

    params: np.ndarray
    hyper: np.ndarray
    indices: range
    seeds: tuple[int, ...]
    stream: tuple[int, int]  # seed, generation of the action draws
    lifetime: Lifetime
    hidden: int
    lamarckian: bool


@dataclass
class Scored:
    """One individual's lifetimes: its total, the score of each problem, whether each
    evaluation trial was right (mean over the problems), and (Lamarckian) the learned
    parameters."""

    score: float
    problem_scores: np.ndarray
    trial_accuracy: np.ndarray
    learned: np.ndarray | None


def individual_draws(task: LifetimeTask) -> np.ndarray:
    """``[individuals, problems, draws]``: each individual's action draws on each problem."""
    seed, generation = task.stream
    problems = len(task.seeds)
    return np.stack(
        [
            np.stack(
                [
                    streams.stream(seed, generation, streams.ACTIONS, i * problems + p).random(
                        task.lifetime.draws
                    )
                    for p in range(problems)
                ]
            )
            for i in task.indices
        ]
    )


def lifetimes(task: LifetimeTask) -> list[Scored]:
    """Every individual of the task learns each of the problems (see the module's text)."""
    n, problems, lifetime = len(task.hyper), len(task.seeds), task.lifetime
    draws = individual_draws(task)
    if not task.lamarckian:
        # one lane per individual and problem, all at once
        params = {
            k: np.repeat(v, problems, axis=0)
            for k, v in unflatten(task.params, task.hidden).items()
        }
        out = learn(
            params,
            np.repeat(task.hyper, problems, axis=0),
            HarlowProblems(list(task.seeds) * n, lifetime.draws),
            draws.reshape(n * problems, -1),
            lifetime,
        )
        scores = out.scores.reshape(n, problems)
        correct = out.correct.reshape(n, problems, -1)
        learned = None
    else:
        # one lane per individual, the problems one after the other
        params = unflatten(task.params, task.hidden)
        scores = np.zeros((n, problems))
        correct = np.zeros((n, problems, lifetime.evaluation_trials), dtype=bool)
        for p, seed in enumerate(task.seeds):
            out = learn(
                params, task.hyper, HarlowProblems([seed] * n, lifetime.draws), draws[:, p],
                lifetime,
            )  # fmt: skip
            scores[:, p], correct[:, p], params = out.scores, out.correct, out.params
        learned = flatten(params)
    return [
        Scored(
            float(scores[i].sum()),
            scores[i],
            correct[i].mean(axis=0),
            None if learned is None else learned[i],
        )
        for i in range(n)
    ]


def lifetimes_chunk(shared: SharedArrays, task: LifetimeTask) -> ChunkResults:
    return ChunkResults(lifetimes(task))


class GeneticSearch(Strategy):
    """The steady-state GA as the loop drives it. Before generation 0 is told, ``ask`` gives
    the newborns of the initial population; afterwards each generation's children."""

    def __init__(self, loop: HarlowLoop, population: genetics.Population | None, newborns=None):
        self.loop = loop
        self.population = population
        self.newborns = newborns
        self._asked: tuple[int, Individuals] | None = None

    def ask(self) -> Individuals:
        if self.population is None:
            return self.newborns
        generation = self.loop.next_generation
        if self._asked is None or self._asked[0] != generation:
            p = self.loop.params
            rng = streams.stream(p.seed, generation, streams.REPRODUCE)
            chosen = genetics.parents(self.population, p.tournament_size, p.num_parents, rng)
            made = genetics.children(
                self.population, chosen, p.num_children, self.loop.mutation, rng
            )
            individuals = Individuals(
                np.stack([flatten(params) for params, _ in made]),
                np.stack([hyper for _, hyper in made]),
                range(len(made)),
            )
            self._asked = (generation, individuals)
        return self._asked[1]

    def tell(self, candidates: Individuals, scores, generation: int) -> None:
        inherited = self.loop.inherited(candidates)
        params = unflatten(inherited, self.loop.params.hidden_size)
        score = np.asarray(scores["score"], dtype=np.float64)
        if self.population is None:
            self.population = genetics.Population(params, candidates.hyper.copy(), score)
            return
        rng = streams.stream(self.loop.params.seed, generation, streams.CULL)
        self.population = genetics.replace(
            self.population, params, candidates.hyper.copy(), score, rng
        )


class HarlowLoop(GenerationLoop):
    """The generation loop of run-harlow-baldwin.py."""

    CHAMPION_KEY = "score"
    BEST_KEYS = ("score",)
    CHAMPION_KEYS = ("score",)
    POPULATION_COLUMNS = ("mean_score",)
    CHAMPION_FILE = "champion.npz"

    def __init__(self, params: Params, run: Run, pool: Pool):
        super().__init__(params, run, pool)
        self.mutation = mutation_of(params)
        self.lifetime = lifetime_of(params)
        self.next_generation = 1
        self._scored: list[Scored] = []
        self._current: Individuals | None = None

    # --- the strategy ---------------------------------------------------------------------

    def new_strategy(self) -> GeneticSearch:
        p = self.params
        members = [
            initial_parameters(p.hidden_size, streams.stream(p.seed, 0, streams.INIT, i))
            for i in range(p.population_size)
        ]
        newborns = Individuals(
            np.stack([flatten(m) for m in members]),
            np.tile(np.array(INITIAL_HYPERPARAMETERS), (p.population_size, 1)),
            range(p.population_size),
        )
        return GeneticSearch(self, None, newborns)

    def restore_strategy(self, state: dict) -> GeneticSearch:
        arrays = state["strategy"]["arrays"]
        population = genetics.Population(
            unflatten(arrays["members"], self.params.hidden_size),
            np.asarray(arrays["hyper"], dtype=np.float64),
            np.asarray(arrays["scores"], dtype=np.float64),
        )
        self.next_generation = state["generation"] + 1
        return GeneticSearch(self, population)

    def checkpoint_state(self, generation: int) -> dict:
        population = self.strategy.population
        return {
            "script": self.params.script,
            "params": self.params.to_dict(),
            "generation": generation,
            "champion": self.champion,
            "strategy": {
                "arrays": {
                    "members": flatten(population.params),
                    "hyper": population.hyper,
                    "scores": population.scores,
                },
                "values": {},
            },
        }

    def inherited(self, individuals: Individuals) -> np.ndarray:
        """``[n, size]``: what the scored individuals pass on (Lamarckian: what they learned)."""
        if self.params.inheritance == "lamarckian":
            return np.stack([s.learned for s in self._scored])
        return individuals.params

    # --- evaluation -----------------------------------------------------------------------

    def score(self, individuals: Individuals, generation: int) -> dict[str, np.ndarray]:
        p = self.params
        seeds = streams.episode_seeds(p.seed, generation, 0, p.num_tasks, MAX_BASE_SEED)
        tasks = [
            LifetimeTask(
                individuals.params[chunk],
                individuals.hyper[chunk],
                range(
                    individuals.indices[chunk.start], individuals.indices[chunk.start] + len(chunk)
                ),
                seeds,
                (p.seed, generation),
                self.lifetime,
                p.hidden_size,
                p.inheritance == "lamarckian",
            )  # fmt: skip
            for chunk in self.pool.split(len(individuals))
        ]
        self._current = individuals
        self._scored = self.pool.map_chunks(lifetimes_chunk, tasks)
        return {"score": np.array([s.score for s in self._scored])}

    def evaluate(self, individuals: Individuals, generation: int) -> dict[str, np.ndarray]:
        return self.score(individuals, generation)

    def start(self, newborns: Individuals) -> None:
        """Generation 0: the initial population is scored, becomes the GA's population, and
        its best the first champion."""
        with self.interrupts.interruptible():
            scores = self.sanitize(self.score(newborns, 0), 0)
        self.update_champion(newborns, scores, 0)
        self.strategy.tell(newborns, scores, 0)
        self._report_population(0, scores)
        mean = float(np.mean(scores["score"]))
        self.run.log(
            f"Generation 0: mean population score {mean:.2f}, best score "
            f"{float(np.max(scores['score'])):.0f}"
        )

    def _report_population(self, generation: int, scores) -> dict[str, float]:
        run = self.run
        population = self.strategy.population
        mean = float(np.mean(population.scores))
        run.scalar("population/mean_score", mean, generation)
        run.histogram("population/score", population.scores, generation)
        for j, name in enumerate(HYPERPARAMETERS):
            run.scalar(
                f"hyperparameters/{name}", float(np.mean(population.hyper[:, j])), generation
            )
        accuracy = np.mean([s.trial_accuracy for s in self._scored], axis=0)
        for t, value in enumerate(accuracy, start=1):
            run.scalar(f"trial_accuracy/trial_{t:02d}", float(value), generation)
        return {"mean_score": mean}

    def population_summary(self, generation, individuals, scores) -> dict[str, float]:
        self.next_generation = generation + 1
        return self._report_population(generation, scores)

    # --- the champion ---------------------------------------------------------------------

    def set_champion(self, candidate: int, generation: int, index: int, scores: dict) -> None:
        super().set_champion(self.genome(candidate), generation, index, scores)

    def genome(self, i: int) -> np.ndarray:
        """Individual i of the generation just scored as it is passed on, one float64 vector:
        the parameters (Lamarckian: as learned), then the hyperparameters."""
        individuals = self._current
        lamarckian = self.params.inheritance == "lamarckian"
        params = self._scored[i].learned if lamarckian else individuals.params[i]
        return np.concatenate([params.astype(np.float64), individuals.hyper[i]])

    def save_champion_files(self, champion: Champion) -> None:
        save_individual(
            self.run.path(self.CHAMPION_FILE, atomic=True), champion.genome,
            self.params.hidden_size, {**champion.info(), "inheritance": self.params.inheritance},
        )  # fmt: skip

    def champion_description(self) -> str:
        hyper = self.champion.genome[-len(HYPERPARAMETERS) :]
        return ", ".join(f"{n} {v:.4g}" for n, v in zip(HYPERPARAMETERS, hyper, strict=True))


def save_individual(path, genome: np.ndarray, hidden: int, info: dict) -> None:
    """An individual as ``.npz``, data only: one array per parameter under PyTorch's names
    (``emb.weight``, ``rnn.weight_ih_l0``, ...: ``load_state_dict`` of the tutorial's
    ``ActorCritic`` takes them), ``hyperparameters`` with ``hyperparameter_names``, and
    ``info`` (JSON); written atomically (``name.tmp`` first)."""
    path = Path(path)
    size = parameter_count(hidden)
    arrays = dict(unflatten(genome[:size], hidden))
    arrays["hyperparameters"] = np.asarray(genome[size:], dtype=np.float64)
    arrays["hyperparameter_names"] = np.array(HYPERPARAMETERS)
    arrays["info"] = np.array(json.dumps(info))
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)
    tmp.replace(path)


def load_individual(path: Path, hidden: int) -> np.ndarray:
    """The genome of a file :func:`save_individual` wrote, checked against ``hidden``.

    Raises:
        UserError: the file cannot be read or holds a network of another shape.
    """
    from evolearn.harlow.agent import parameter_shapes

    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {name: f[name] for name in f.files}
    except (OSError, ValueError) as err:
        raise UserError(f"{path} is not a learner file of run-harlow-baldwin.py ({err})") from None
    for name, shape in parameter_shapes(hidden).items():
        got = arrays[name].shape if name in arrays else "nothing"
        if got != shape:
            raise UserError(
                f"{path}: {name} should have the shape {shape} for hidden_size {hidden}, "
                f"but has {got}"
            )
    hyper = arrays.get("hyperparameters", np.zeros(0))
    if hyper.shape != (len(HYPERPARAMETERS),):
        raise UserError(f"{path}: hyperparameters should be {len(HYPERPARAMETERS)} numbers")
    return np.concatenate([flatten(arrays).astype(np.float64), hyper.astype(np.float64)])


def main(argv: list[str]) -> None:
    params = parse_params(SPEC, argv)
    try:
        mutation_of(params)
    except ValueError as err:
        raise ParamError(str(err)) from None
    size = parameter_count(params.hidden_size)
    note = (
        f"Learner: Linear(5, {params.hidden_size}) -> LSTM({params.hidden_size}) -> actor (2) "
        f"and critic (1), {size} weights and 4 hyperparameters; {params.inheritance} "
        f"inheritance; each individual learns {params.num_tasks} new problems"
    )
    run_evolution(params, lambda run, pool: HarlowLoop(params, run, pool), notes=[note])
