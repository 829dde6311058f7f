"""The evolution core: multi-objective ranking and the plan of the next population.

Ranking follows NSGA-II (K. Deb, A. Pratap, S. Agarwal, T. Meyarivan, "A fast and elitist
multiobjective genetic algorithm: NSGA-II", IEEE Transactions on Evolutionary Computation 6(2),
2002): non-dominated sorting into fronts, and inside a front, crowding distance, largest first.
The objectives and the reproduction scheme (culling, elitism, tournaments) are those of the
Weight Agnostic Neural Networks search (A. Gaier and D. Ha, "Weight Agnostic Neural Networks",
NeurIPS 2019), which Rieke (2020) builds on.

**All objectives are maximised.** Point ``a`` dominates point ``b`` iff ``a >= b`` in every
objective and ``a > b`` in at least one.

Everything here is a pure function of numpy arrays and, where randomness is needed, an
explicit ``numpy.random.Generator``; nothing does I/O or touches global random state.
The population is the leading axis ``P`` (or ``N``) of every array.

One fix against the thesis code (SPEC section 5): the crowding distance divides each
neighbour gap by that objective's range in the front; the code inherited from WANNRelease had
a misplaced bracket in this normalisation.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "breeding_pool_size",
    "crowding_distance",
    "domination_matrix",
    "nondominated_fronts",
    "rank_by_dominance",
    "reproduce",
    "select_objectives",
]

#: Children whose tournaments :func:`reproduce` draws at once.
_TOURNAMENT_BLOCK = 64


def _as_objectives(objectives: np.ndarray, name: str = "objectives") -> np.ndarray:
    """``objectives`` as a float64 ``[P, M]`` array; rejects other shapes and NaN."""
    values = np.asarray(objectives, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array [points, objectives], got shape {values.shape}"
        )
    if np.isnan(values).any():
        # NaN compares false with everything, so a NaN point would be non-dominated.
        raise ValueError(f"{name} contains NaN; rank only finite (or infinite) values")
    return values


def domination_matrix(objectives: np.ndarray) -> np.ndarray:
    """Which point dominates which, all objectives maximised.

    Args:
        objectives: float ``[P, M]``.

    Returns:
        bool ``[P, P]``: entry ``[i, j]`` is True iff point ``i`` dominates point ``j``
        (``>=`` in every objective, ``>`` in at least one). The diagonal is False.
    """
    values = _as_objectives(objectives)
    num_points, num_objectives = values.shape
    # geq[i, j]: i >= j in every objective. One [P, P] comparison at a time, written into one
    # scratch array, keeps memory at O(P^2) rather than O(P^2 M).
    geq = np.ones((num_points, num_points), dtype=bool)
    scratch = np.empty_like(geq)
    for m in range(num_objectives):
        column = values[:, m]
        np.greater_equal(column[:, None], column[None, :], out=scratch)
        geq &= scratch
    # i dominates j iff i >= j everywhere but not j >= i everywhere (that would make them equal).
    np.logical_not(geq.T, out=scratch)
    scratch &= geq
    return scratch


def nondominated_fronts(objectives: np.ndarray) -> list[np.ndarray]:
    """Non-dominated sorting (NSGA-II) of points whose objectives are all maximised.

    Front 0 holds the points no other point dominates; front ``k`` holds those dominated only
    by points of fronts ``0 .. k-1``. Identical points are in the same front.

    Args:
        objectives: float ``[P, M]``, maximised. NaN is rejected.

    Returns:
        The fronts, best first: int64 index arrays into the ``P`` points, each sorted
        ascending; together they hold every index exactly once. ``P == 0`` gives ``[]``.
    """
    dominates = domination_matrix(objectives)
    num_points = dominates.shape[0]
    # dominator_count[j]: how many points not yet in a front dominate j; -1 once j is in one.
    # A point is never dominated by a point of its own or a later front, so -1 stays -1.
    dominator_count = dominates.sum(axis=0, dtype=np.int32)
    num_sorted = 0
    fronts: list[np.ndarray] = []
    while num_sorted < num_points:
        front = np.flatnonzero(dominator_count == 0).astype(np.int64, copy=False)
        fronts.append(front)
        num_sorted += len(front)
        dominator_count[front] = -1
        dominator_count -= dominates[front].sum(axis=0, dtype=np.int32)
    return fronts


def crowding_distance(front_objectives: np.ndarray) -> np.ndarray:
    """NSGA-II crowding distance of the points of one front (objectives maximised).

    For each objective the front is sorted by it (stable, so ties keep index order); the first
    and last point get ``+inf``; every interior point adds ``(next - previous) / (max - min)``,
    the gap between its two neighbours normalised by that objective's range in the front.
    An objective that is constant in the front adds 0 to the interior points (its ends still get
    ``+inf``). Fronts of one or two points are all ``+inf``.

    Args:
        front_objectives: float ``[F, M]``, finite (an infinite value has no finite range).

    Returns:
        float64 ``[F]``, larger = less crowded.
    """
    values = _as_objectives(front_objectives, "front_objectives")
    num_points, num_objectives = values.shape
    distance = np.zeros(num_points, dtype=np.float64)
    if num_points <= 2:
        distance[:] = np.inf
        return distance
    for m in range(num_objectives):
        order = np.argsort(values[:, m], kind="stable")
        sorted_values = values[order, m]
        distance[order[0]] = np.inf
        distance[order[-1]] = np.inf
        value_range = sorted_values[-1] - sorted_values[0]
        if value_range > 0:
            # The whole neighbour gap over the whole range: the bracket the thesis code misplaced.
            distance[order[1:-1]] += (sorted_values[2:] - sorted_values[:-2]) / value_range
    return distance


def rank_by_dominance(objectives: np.ndarray) -> np.ndarray:
    """NSGA-II rank of every point, objectives maximised; 0 is the best.

    Points are ordered front by front (best front first); inside a front by crowding distance,
    largest first; equal distances by index, so the result is deterministic.

    Args:
        objectives: float ``[P, M]``, maximised.

    Returns:
        int64 ``[P]``, a permutation of ``0 .. P-1``: ``ranks[i]`` is the place of point ``i``.
    """
    values = _as_objectives(objectives)
    ordered: list[np.ndarray] = []
    for front in nondominated_fronts(values):
        distance = crowding_distance(values[front])
        # front is ascending, so a stable sort of -distance breaks ties by index.
        ordered.append(front[np.argsort(-distance, kind="stable")])
    order = np.concatenate(ordered) if ordered else np.zeros(0, dtype=np.int64)
    ranks = np.empty(values.shape[0], dtype=np.int64)
    ranks[order] = np.arange(values.shape[0], dtype=np.int64)
    return ranks


def select_objectives(
    mean_reward: np.ndarray,
    max_reward: np.ndarray,
    num_connections: np.ndarray,
    p_complexity_objective: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """The two maximised objectives that rank this generation (WANN, Gaier & Ha 2019).

    One draw ``rng.random()`` per call (i.e. per generation): with probability
    ``p_complexity_objective`` the objectives are ``(mean_reward, 1 / max(1, num_connections))``
    (fewer connections is better), otherwise ``(mean_reward, max_reward)``. Scripts with a
    single reward pass it as both ``mean_reward`` and ``max_reward``.

    Args:
        mean_reward: float ``[P]``.
        max_reward: float ``[P]``.
        num_connections: ``[P]``, the complexity of each network.
        p_complexity_objective: probability in ``[0, 1]``.
        rng: the run's generator.

    Returns:
        float64 ``[P, 2]``, both columns maximised.
    """
    mean = np.asarray(mean_reward, dtype=np.float64)
    best = np.asarray(max_reward, dtype=np.float64)
    connections = np.asarray(num_connections, dtype=np.float64)
    if not (mean.ndim == 1 and mean.shape == best.shape == connections.shape):
        raise ValueError(
            "mean_reward, max_reward and num_connections must be 1-D arrays of one length, "
            f"got shapes {mean.shape}, {best.shape} and {connections.shape}"
        )
    if not 0.0 <= p_complexity_objective <= 1.0:
        raise ValueError(f"p_complexity_objective must be in [0, 1], got {p_complexity_objective}")
    if rng.random() < p_complexity_objective:
        second = 1.0 / np.maximum(1.0, connections)
    else:
        second = best
    return np.stack([mean, second], axis=1)


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
        ranks: int ``[N]``, 0 = best (e.g. from :func:`rank_by_dominance`).
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


def rank_by_dominance_reference(objectives: np.ndarray) -> np.ndarray:
    """:func:`rank_by_dominance` straight from the definitions, in plain Python loops.

    The slow, obviously correct reference the fast version is tested and benchmarked against
    (O(P^2) comparisons per front, as the original WANN code did). Objectives maximised.
    """
    points = [tuple(float(v) for v in row) for row in np.asarray(objectives, dtype=float)]
    remaining = list(range(len(points)))
    order: list[int] = []
    while remaining:
        front = [
            i
            for i in remaining
            if not any(
                all(a >= b for a, b in zip(points[j], points[i], strict=True))
                and any(a > b for a, b in zip(points[j], points[i], strict=True))
                for j in remaining
            )
        ]
        distance = dict.fromkeys(front, 0.0)
        for m in range(len(points[0]) if points else 0):
            by_m = sorted(front, key=lambda i: points[i][m])
            low, high = points[by_m[0]][m], points[by_m[-1]][m]
            distance[by_m[0]] = distance[by_m[-1]] = float("inf")
            for k in range(1, len(by_m) - 1):
                if high > low and distance[by_m[k]] != float("inf"):
                    gap = points[by_m[k + 1]][m] - points[by_m[k - 1]][m]
                    distance[by_m[k]] += gap / (high - low)
        order.extend(sorted(front, key=lambda i: (-distance[i], i)))
        remaining = [i for i in remaining if i not in set(front)]
    ranks = np.empty(len(points), dtype=np.int64)
    ranks[np.asarray(order, dtype=np.int64)] = np.arange(len(order))
    return ranks
