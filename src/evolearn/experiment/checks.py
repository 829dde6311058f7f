"""The cross-option checks that scripts list in their specs (``ScriptSpec.checks``): each
takes the parsed parameters and raises a :class:`~evolearn.errors.ParamError` that names the
options and says how to fix them."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from evolearn.errors import ParamError
from evolearn.experiment.workers import parse_scheduler
from evolearn.search.reproduction import breeding_pool_size


def check_mutation_probabilities_sum(
    params: Mapping[str, Any], names: Sequence[str] | None = None
) -> None:
    """The mutation probabilities ``names`` must sum to 1 (within 1e-6).

    Without ``names``: those of p_add_connection, p_add_node, p_change_activation that the
    script uses.
    """
    if names is None:
        names = [
            n for n in ("p_add_connection", "p_add_node", "p_change_activation") if n in params
        ]
    values = [params[n] for n in names]
    total = math.fsum(values)
    if abs(total - 1.0) > 1e-6:
        terms = ", ".join(f"{n} = {v:g}" for n, v in zip(names, values, strict=True))
        raise ParamError(
            f"The mutation probabilities must sum to 1, but {terms} sum to {total:g}. "
            f"Change them so that {' + '.join(names)} = 1."
        )


def hidden_activation_indices(value: str) -> tuple[int, ...]:
    """The activation indices of a ``hidden_activations`` value (ParamError if invalid)."""
    from evolearn.activations import ACTIVATION_NAMES, SEARCH_ACTIVATIONS

    if value.strip() == "all":
        return tuple(ACTIVATION_NAMES.index(name) for name in SEARCH_ACTIVATIONS)
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in ACTIVATION_NAMES]
    if unknown or len(set(names)) < 2 or len(set(names)) != len(names):
        problem = (
            f"unknown name(s) {', '.join(repr(name) for name in unknown)}"
            if unknown
            else "it needs at least two different names, each once"
        )
        raise ParamError(
            f"hidden_activations must be 'all' or a comma-separated list of at least two of "
            f"{', '.join(ACTIVATION_NAMES)}; got {value!r}: {problem}."
        )
    return tuple(sorted(ACTIVATION_NAMES.index(name) for name in names))


def check_hidden_activations(params: Mapping[str, Any]) -> None:
    hidden_activation_indices(params.hidden_activations)


def check_tournament_fits(params: Mapping[str, Any]) -> None:
    """``tournament_size`` must not exceed the breeding pool (the population after culling)."""
    n, cull, size = params.population_size, params.cull_ratio, params.tournament_size
    pool = breeding_pool_size(n, cull)
    if size > pool:
        raise ParamError(
            f"tournament_size must be at most the size of the breeding pool, got "
            f"tournament_size = {size} but the breeding pool has only {pool} networks "
            f"(population_size {n} minus the int({n} * cull_ratio {cull:g}) = {n - pool} "
            f"culled). Lower tournament_size or cull_ratio, or raise population_size."
        )


def check_elite_and_cull(params: Mapping[str, Any]) -> None:
    """The elite (``int(N * elite_ratio)``) must fit into the population left after culling."""
    n, elite_ratio, cull = params.population_size, params.elite_ratio, params.cull_ratio
    elite = int(n * elite_ratio)
    pool = breeding_pool_size(n, cull)
    if elite > pool:
        raise ParamError(
            f"elite_ratio and cull_ratio do not fit together: the elite has int({n} * "
            f"elite_ratio {elite_ratio:g}) = {elite} networks, but only {pool} are left after "
            f"culling int({n} * cull_ratio {cull:g}) = {n - pool} of population_size {n}. "
            f"Lower elite_ratio or cull_ratio."
        )


def check_cuda_with_scheduler(params: Mapping[str, Any]) -> None:
    """``use_cuda`` picks a device on the machine that starts the run, which a cluster's
    workers may not have: the two do not go together (yet)."""
    if params.use_cuda and parse_scheduler(params.scheduler) is not None:
        raise ParamError(
            f"use_cuda and scheduler do not go together: the device is chosen on this machine, "
            f"not on the Dask workers (scheduler = {params.scheduler!r}). Run on the CPU with "
            f"--use_cuda false, or on this machine's GPU without --scheduler."
        )
