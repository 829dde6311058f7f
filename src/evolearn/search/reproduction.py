"""Reproduction: the plan of the next population from the ranks of the current one.

The scheme of the Weight Agnostic Neural Networks search (A. Gaier and D. Ha, NeurIPS 2019),
which Rieke (2020) builds on: the worst ``int(P * cull_ratio)`` networks are left out of the
breeding pool, the best ``int(P * elite_ratio)`` pass on unchanged, every other child is the
winner of a tournament of ``tournament_size`` networks drawn from the pool. Ranks come from
:mod:`evolearn.search.ranking`.

A pure function of numpy arrays and an explicit ``numpy.random.Generator``; no I/O, no global
random state.
"""

from __future__ import annotations

import numpy as np

#: Children whose tournaments :func:`reproduce` draws at once.
_TOURNAMENT_BLOCK = 64


def breeding_pool_size(population_size: int, cull_ratio: float) -> int:
    """Networks left after culling the worst ``int(population_size * cull_ratio)``."""
    return population_size - int(population_size * cull_ratio)


def reproduce(
    ranks: np.ndarray,
    *,
    cull_ratio: float,
    elite_ratio: float,
    tournament_size: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Plan the next population (same size ``N = len(ranks)``) from the ranks of this one.

    1. sort by rank (lower = better; equal ranks by index);
    2. culling: the worst ``int(N * cull_ratio)`` are left out of the breeding pool;
    3. elitism: the best ``int(N * elite_ratio)`` pass unchanged;
    4. each of the other ``N - n_elite`` children is a (to-be-mutated) copy of the winner of a
       tournament: ``tournament_size`` distinct random members of the breeding pool, of which
       the best-ranked wins.

    Args:
        ranks: int ``[N]``, 0 = best (e.g. from :func:`~evolearn.search.ranking.rank_by_dominance`).
        cull_ratio: fraction of the population excluded from breeding.
        elite_ratio: fraction of the population copied unchanged.
        tournament_size: members per tournament, at most the breeding pool size.
        rng: the run's generator.

    Returns:
        ``(elites, parents)``: elites int64 ``[n_elite]``, indices of the best-ranked networks,
        best first; parents int64 ``[N - n_elite]``, for each remaining child the index of the
        network it is a copy of.

    Raises:
        ValueError: if ``tournament_size`` is below 1 or larger than the breeding pool.
    """
    ranks = np.asarray(ranks)
    if ranks.ndim != 1:
        raise ValueError(f"ranks must be a 1-D array, got shape {ranks.shape}")
    population_size = ranks.shape[0]
    n_elite = int(population_size * elite_ratio)
    pool_size = breeding_pool_size(population_size, cull_ratio)
    n_children = population_size - n_elite
    if not 0 <= n_elite <= population_size:
        raise ValueError(f"elite_ratio must be in [0, 1], got {elite_ratio}")
    if not 0 <= pool_size <= population_size:
        raise ValueError(f"cull_ratio must be in [0, 1], got {cull_ratio}")
    if tournament_size < 1:
        raise ValueError(f"tournament_size must be at least 1, got {tournament_size}")
    if tournament_size > pool_size:
        raise ValueError(
            f"tournament_size {tournament_size} is larger than the breeding pool: "
            f"{pool_size} of {population_size} networks are left after culling "
            f"int({population_size} * {cull_ratio}) = {population_size - pool_size}"
        )

    order = np.argsort(ranks, kind="stable").astype(np.int64, copy=False)
    elites = order[:n_elite].copy()
    # Tournaments over pool positions (0 = best): the k smallest of a row of random keys are a
    # uniform random k-subset of distinct positions; the lowest position among them wins.
    # Drawing the keys for a block of children at a time keeps the key matrix small, which
    # measured about 1.5 times faster than one [children, pool] matrix at N = 960.
    winners = np.empty(n_children, dtype=np.int64)
    for start in range(0, n_children, _TOURNAMENT_BLOCK):
        stop = min(start + _TOURNAMENT_BLOCK, n_children)
        keys = rng.random((stop - start, pool_size))
        members = np.argpartition(keys, tournament_size - 1, axis=1)[:, :tournament_size]
        winners[start:stop] = members.min(axis=1)
    parents = order[winners]
    return elites, parents
