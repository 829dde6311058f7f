"""The weight agnostic neural network search (Gaier & Ha 2019), shared by the WANN scripts.

A WANN is judged with one shared weight value for all its connections, over several values
(:data:`~evolearn.wann.network.TRAIN_WEIGHT_VALUES`). Its scores are the mean reward over the weight
values and the best (max) reward; ranking uses (mean reward, 1 / connections) with probability
``p_complexity_objective``, otherwise (mean reward, max reward). Mutations: change activation,
add connection, add node, drawn with ``p_change_activation``, ``p_add_connection`` and
``p_add_node``. The task (classification or an environment) is filled in by a subclass.
"""

from __future__ import annotations

import numpy as np

from evolearn import streams
from evolearn.activations import SEARCH_ACTIVATIONS, activation_index
from evolearn.experiment.checks import (
    check_cuda_with_scheduler,
    check_elite_and_cull,
    check_hidden_activations,
    check_mutation_probabilities_sum,
    check_tournament_fits,
    hidden_activation_indices,
)
from evolearn.experiment.options import EVOLUTION_OPTIONS
from evolearn.genome import Genome, add_connection, add_node, change_activation, initial_genome
from evolearn.search.loop import EvolutionLoop
from evolearn.search.ranking import select_objectives

#: Hidden neurons draw from activations 0 .. NUM_ACTIVATIONS - 1 unless told otherwise.
NUM_ACTIVATIONS = len(SEARCH_ACTIVATIONS)

#: Options every WANN script uses besides its task's own.
WANN_OPTIONS = EVOLUTION_OPTIONS + (
    "p_change_activation",
    "hidden_activations",
    "bias_input",
    "output_activation",
    "test_every",
    "use_torch",
)

#: Cross-option checks of both WANN scripts.
WANN_CHECKS = (
    check_mutation_probabilities_sum,
    check_tournament_fits,
    check_elite_and_cull,
    check_hidden_activations,
    check_cuda_with_scheduler,
)


def mutate_wann(
    genome: Genome,
    rng: np.random.Generator,
    *,
    p_change_activation: float,
    p_add_connection: float,
    num_mutations: int,
    activations: int | tuple[int, ...] = NUM_ACTIVATIONS,
) -> Genome:
    """``num_mutations`` mutations, each drawn: change activation, add connection or add node;
    a new or changed hidden neuron gets one of ``activations`` (a count or the indices)."""
    for _ in range(num_mutations):
        draw = rng.random()
        if draw < p_change_activation:
            genome = change_activation(genome, rng, activations=activations)
        elif draw < p_change_activation + p_add_connection:
            genome = add_connection(genome, rng)
        else:
            genome = add_node(genome, rng, activations=activations)
    return genome


def weight_scores(rewards: np.ndarray, accs: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Scores of networks from their rewards per weight value ``[..., W]`` (maximised).

    mean_reward: mean over weight values; max_reward: the best weight value's reward;
    with accuracies also mean_acc and acc_at_max_reward (the accuracy at the weight value of
    max_reward, not the best accuracy).
    """
    best = np.argmax(rewards, axis=-1)
    scores = {"mean_reward": rewards.mean(-1), "max_reward": rewards.max(-1)}
    if accs is not None:
        scores["mean_acc"] = accs.mean(-1)
        scores["acc_at_max_reward"] = np.take_along_axis(accs, best[..., None], -1)[..., 0]
    return scores


class WANNEvolution(EvolutionLoop):
    """The WANN search; subclasses evaluate a population on their task."""

    CHAMPION_KEY = "mean_reward"
    BEST_KEYS = ("mean_reward", "max_reward")
    CHAMPION_KEYS = ("mean_reward", "max_reward")

    def initial_population(self) -> list[Genome]:
        p = self.params
        return [
            initial_genome(
                p.num_inputs + p.bias_input,
                p.num_outputs,
                p.p_initial_connection_enabled,
                streams.stream(p.seed, 0, streams.INIT, i),
                with_activations=True,
                output_activation=activation_index(p.output_activation),
            )
            for i in range(p.population_size)
        ]

    def objectives(self, population, scores, rng) -> np.ndarray:
        connections = np.array([g.num_connections for g in population])
        return select_objectives(
            scores["mean_reward"],
            scores["max_reward"],
            connections,
            self.params.p_complexity_objective,
            rng,
        )

    def mutate(self, genome: Genome, rng: np.random.Generator) -> Genome:
        p = self.params
        return mutate_wann(
            genome,
            rng,
            p_change_activation=p.p_change_activation,
            p_add_connection=p.p_add_connection,
            num_mutations=p.num_mutations_per_generation,
            activations=hidden_activation_indices(p.hidden_activations),
        )

    def due_for_test(self, generation: int) -> bool:
        return generation % self.params.test_every == 0 or generation == self.params.num_generations
