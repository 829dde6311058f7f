"""The generation loop of the network-genome searches (the WANN and WLNN scripts).

Each generation: evaluate the population, update the champion, test the champion when due,
rank (NSGA-II) and reproduce (culling, elitism, tournaments, mutation), then report. A script
subclasses :class:`EvolutionLoop` and fills in what differs between tasks: the initial
population, how a population is evaluated, how a child is mutated, the ranking objectives and
when and how the champion is checked and tested. What every run has (checkpoints, the
champion, the results table, Ctrl-C) is :class:`~evolearn.search.generations.GenerationLoop`'s;
the search itself is the strategy :class:`~evolearn.search.nsga2.NSGA2Search`.
"""

from __future__ import annotations

import numpy as np

from evolearn import streams
from evolearn.experiment.parsing import Params
from evolearn.experiment.reporting import (
    POPULATION_TABLE_FILE,
    PopulationTable,
    population_stats,
    save_champion,
    save_population,
)
from evolearn.experiment.run import Run
from evolearn.experiment.workers import Pool
from evolearn.genome import Genome
from evolearn.search.generations import WORST_SCORE, Champion, GenerationLoop
from evolearn.search.nsga2 import NSGA2Search


class EvolutionLoop(GenerationLoop):
    """Evaluate, select and reproduce a population of genomes for ``params.num_generations``
    generations.

    Subclasses implement :meth:`initial_population`, :meth:`evaluate`, :meth:`objectives`,
    :meth:`mutate` and :meth:`champion_candidate`, and may override the other hooks.
    """

    CHAMPION_SIZE_COLUMNS = ("connections",)
    POPULATION_COLUMNS = ("connections_mean", "neurons_mean", "layers_mean")

    def __init__(self, params: Params, run: Run, pool: Pool):
        super().__init__(params, run, pool)
        self.population_table = PopulationTable(
            run.path(POPULATION_TABLE_FILE, atomic=True), append=run.resume_state is not None
        )

    # --- hooks ---------------------------------------------------------------------------

    def initial_population(self) -> list[Genome]:
        raise NotImplementedError

    def objectives(
        self, population: list[Genome], scores: dict[str, np.ndarray], rng: np.random.Generator
    ) -> np.ndarray:
        """``[population, 2]`` ranking objectives, maximised."""
        raise NotImplementedError

    def mutate(self, genome: Genome, rng: np.random.Generator) -> Genome:
        raise NotImplementedError

    def after_evaluation(
        self, population: list[Genome], scores: dict[str, np.ndarray]
    ) -> list[Genome]:
        """The population to rank and reproduce (Lamarckian runs keep learned weights here).

        Called after the champion update and the reporting, which see the networks as
        evaluated."""
        return population

    def due_for_saving(self, generation: int) -> bool:
        """Whether every network of the generation is saved as JSON: the first and the last
        generation and every ``save_every``."""
        every = self.params.save_every
        return generation in (1, self.params.num_generations) or generation % every == 0

    def save_networks(
        self, population: list[Genome], scores: dict[str, np.ndarray], generation: int
    ) -> None:
        """Every network of the generation as ``networks/gen-XXXXX/net-XXX.json``, its scores
        in ``info``."""
        infos = [{k: float(v[i]) for k, v in scores.items()} for i in range(len(population))]
        save_population(self.run, population, generation, infos)

    def extra_reporting(
        self, population: list[Genome], scores: dict[str, np.ndarray], generation: int
    ) -> None:
        """More reporting of an evaluated generation (histograms)."""

    # --- the strategy and the loop's hooks ---------------------------------------------------

    def _strategy(self, population: list[Genome]) -> NSGA2Search:
        params = self.params
        return NSGA2Search(
            population,
            objectives=self.ranking_objectives,
            mutate=self.mutate,
            parents_of=self.after_evaluation,
            stage=lambda name: self.timer.stage(name),
            seed=params.seed,
            cull_ratio=params.cull_ratio,
            elite_ratio=params.elite_ratio,
            tournament_size=params.tournament_size,
        )

    def new_strategy(self) -> NSGA2Search:
        return self._strategy(self.initial_population())

    def restore_strategy(self, state: dict) -> NSGA2Search:
        return self._strategy(state["population"])

    def resumed(self, state: dict) -> None:
        if self.population_table.path.exists():
            self.population_table.keep_until(state["generation"])

    def checkpoint_state(self, generation: int) -> dict:
        """Everything needed to continue after ``generation``: the next population."""
        return {
            "script": self.params.script,
            "params": self.params.to_dict(),
            "generation": generation,
            "population": self.strategy.population,
            "champion": self.champion,
        }

    def save_champion_files(self, champion: Champion) -> None:
        save_champion(self.run, champion.genome, champion.info())

    def ranking_objectives(
        self, population: list[Genome], scores: dict[str, np.ndarray], generation: int
    ) -> np.ndarray:
        """The generation's :meth:`objectives`, but a failed network (one :meth:`sanitize`
        gave the worst scores) is worst in every objective, 1 / complexity included: it ranks
        below every network whose evaluation worked, however few connections it has."""
        objectives = self.objectives(
            population, scores, streams.stream(self.params.seed, generation, streams.REPRODUCE)
        )
        failed = scores[self.CHAMPION_KEY] == WORST_SCORE
        return np.where(failed[:, None], WORST_SCORE, objectives)

    def after_generation(
        self, population: list[Genome], scores: dict[str, np.ndarray], generation: int
    ) -> None:
        self.extra_reporting(population, scores, generation)
        if self.due_for_saving(generation):
            self.save_networks(population, scores, generation)

    def champion_size(self) -> dict[str, float]:
        genome = self.champion.genome
        return {
            "connections": genome.num_connections,
            "neurons": genome.num_neurons,
            "layers": genome.num_layers,
        }

    def population_summary(
        self, generation: int, population: list[Genome], scores: dict[str, np.ndarray]
    ) -> dict[str, float]:
        stats = population_stats(population)
        for name, value in stats.items():
            self.run.scalar(f"stats/{name}", value, generation)
        self.population_table.append(generation, scores, population, failed_below=WORST_SCORE)
        return stats

    def champion_description(self) -> str:
        return f"{self.champion.genome.num_connections} connections"
