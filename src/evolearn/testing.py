"""Seeded populations, training options and small runs for tests and benchmarks.

Nothing of a run uses this module: it builds, from a seed alone, populations of realistic size
(grown by the same mutations a run applies, without the selection), training options with the
toolkit's defaults, and lists the arguments of one small seeded run of each script, so that
tests and benchmarks need not repeat any of them.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from evolearn import streams
from evolearn.experiment.options import OPTIONS
from evolearn.genome import Genome, initial_genome
from evolearn.wann.search import mutate_wann
from evolearn.wlnn.evolution import SPEC as WLNN_SPEC
from evolearn.wlnn.evolution import initial_wlnn, mutate
from evolearn.wlnn.learning import TrainConfig

#: One small seeded run of each script (seconds each, on digits or CartPoleSwingUp): the
#: arguments after the script's name. benchmarks/reference-champions holds the champions the
#: three evolution scripts give with these.
SMALL_RUNS: dict[str, list[str]] = {
    "run-wlnn-mnist.py": [
        "params/wlnn/digits-backprop.yaml",
        "--num_generations",
        "3",
        "--population_size",
        "10",
        "--tournament_size",
        "4",
        "--num_epochs",
        "1",
        "--seed",
        "3",
    ],
    "run-wann-classification.py": [
        "params/wann-classification/digits.yaml",
        "--num_generations",
        "4",
        "--population_size",
        "12",
        "--tournament_size",
        "4",
        "--seed",
        "3",
    ],
    "run-wann-gym.py": [
        "params/wann-gym/CartPoleSwingUp.yaml",
        "--num_generations",
        "2",
        "--population_size",
        "8",
        "--tournament_size",
        "2",
        "--num_trials",
        "1",
        "--seed",
        "3",
    ],
    "run-wlnn-mnist-no-evolution.py": [
        "params/wlnn-no-evolution/digits-backprop.yaml",
        "--num_epochs",
        "2",
        "--seed",
        "3",
    ],
}


def _wlnn_default(name: str) -> Any:
    """run-wlnn-mnist.py's default of an option: its override, else the option's default."""
    return WLNN_SPEC.defaults.get(name, OPTIONS[name].default)


def train_config(**overrides: Any) -> TrainConfig:
    """Training options: each option's default, but those given."""
    names = [f.name for f in dataclasses.fields(TrainConfig)]
    return TrainConfig(**{name: OPTIONS[name].default for name in names} | overrides)


def make_population(
    num_networks: int,
    num_inputs: int,
    num_outputs: int,
    p_init: float,
    num_mutations: int,
    seed: int,
) -> list[Genome]:
    """A seeded population grown by random WANN mutations to a realistic size.

    Network i starts as ``initial_genome(num_inputs, num_outputs, p_init)`` and undergoes
    ``num_mutations`` mutations drawn with the WANN scripts' default probabilities (change
    activation 0.5, add connection 0.25, add node 0.25): about what one lineage collects over
    as many generations of a run, without the selection. Network i's stream is ``(seed, i)``,
    so a population's first k networks do not depend on ``num_networks``.
    """
    population = []
    for i in range(num_networks):
        rng = np.random.default_rng((seed, i))
        genome = initial_genome(num_inputs, num_outputs, p_init, rng, with_activations=True)
        genome = mutate_wann(
            genome,
            rng,
            p_change_activation=OPTIONS["p_change_activation"].default,
            p_add_connection=OPTIONS["p_add_connection"].default,
            num_mutations=num_mutations,
        )
        population.append(genome)
    return population


def make_wlnn_population(
    num_networks: int,
    num_inputs: int,
    num_outputs: int,
    seed: int,
    num_generations_of_mutations: int,
    *,
    p_initial_connection_enabled: float | None = None,
    p_add_node: float | None = None,
    num_mutations_per_generation: int | None = None,
) -> list[Genome]:
    """A seeded population of realistic size: initial networks as run-wlnn-mnist.py builds
    them, then every network mutated ``num_generations_of_mutations`` times as a child is
    (Baldwinian: fresh weights). Options not given take run-wlnn-mnist.py's defaults."""
    if p_initial_connection_enabled is None:
        p_initial_connection_enabled = _wlnn_default("p_initial_connection_enabled")
    if p_add_node is None:
        p_add_node = _wlnn_default("p_add_node")
    if num_mutations_per_generation is None:
        num_mutations_per_generation = _wlnn_default("num_mutations_per_generation")
    population = [
        initial_wlnn(
            num_inputs,
            num_outputs,
            p_initial_connection_enabled,
            streams.stream(seed, 0, streams.INIT, i),
        )
        for i in range(num_networks)
    ]
    for generation in range(1, num_generations_of_mutations + 1):
        population = [
            mutate(
                genome,
                streams.stream(seed, generation, streams.MUTATE, i),
                p_add_node=p_add_node,
                num_mutations=num_mutations_per_generation,
                inherit_weights=False,
            )
            for i, genome in enumerate(population)
        ]
    return population
