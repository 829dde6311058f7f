"""The search of the WANN and WLNN scripts as a strategy: a population of network genomes,
ranked by non-dominated sorting (NSGA-II, :mod:`evolearn.search.ranking`) on objectives the
task gives, reproduced by culling, elitism, tournaments and the task's mutation
(:mod:`evolearn.search.reproduction`)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from evolearn import streams
from evolearn.genome import Genome
from evolearn.search.ranking import rank_by_dominance
from evolearn.search.reproduction import reproduce
from evolearn.search.strategy import Strategy


class NSGA2Search(Strategy):
    """The population of the next generation, and how the next one is made from it.

    ``objectives(population, scores, generation)``: ``[population, objectives]``, maximised;
    ``mutate(genome, rng)``: a child; ``parents_of(population, scores)``: the networks that
    reproduce in place of those evaluated (a Lamarckian run's learned weights); ``stage(name)``:
    a context that times ranking and reproduction.
    """

    def __init__(
        self,
        population: list[Genome],
        *,
        objectives: Callable[[list[Genome], dict, int], np.ndarray],
        mutate: Callable[[Genome, np.random.Generator], Genome],
        parents_of: Callable[[list[Genome], dict], list[Genome]],
        stage: Callable,
        seed: int,
        cull_ratio: float,
        elite_ratio: float,
        tournament_size: int,
    ):
        self.population = population
        self.objectives = objectives
        self.mutate = mutate
        self.parents_of = parents_of
        self.stage = stage
        self.seed = seed
        self.cull_ratio = cull_ratio
        self.elite_ratio = elite_ratio
        self.tournament_size = tournament_size

    def ask(self) -> list[Genome]:
        return self.population

    def tell(self, candidates: list[Genome], scores: dict[str, np.ndarray], generation: int):
        parents = self.parents_of(candidates, scores)
        self.population = self.next_population(parents, scores, generation)

    def next_population(
        self, population: list[Genome], scores: dict[str, np.ndarray], generation: int
    ) -> list[Genome]:
        """The generation after ``population`` (scored ``scores``): ranked, culled, its elites
        kept, the rest children of tournament winners."""
        objectives = self.objectives(population, scores, generation)
        with self.stage("ranking"):
            ranks = rank_by_dominance(objectives)
        with self.stage("reproduction"):
            elites, parents = reproduce(
                ranks,
                cull_ratio=self.cull_ratio,
                elite_ratio=self.elite_ratio,
                tournament_size=self.tournament_size,
                rng=streams.stream(self.seed, generation, streams.REPRODUCE, 1),
            )
            children = [
                self.mutate(
                    population[parent], streams.stream(self.seed, generation, streams.MUTATE, i)
                )
                for i, parent in enumerate(parents)
            ]
        return [population[i] for i in elites] + children
