"""Multi-objective ranking of a population (NSGA-II) and the objectives it is ranked by.

Ranking follows NSGA-II (K. Deb, A. Pratap, S. Agarwal, T. Meyarivan, "A fast and elitist
multiobjective genetic algorithm: NSGA-II", IEEE Transactions on Evolutionary Computation 6(2),
2002): non-dominated sorting into fronts, and inside a front, crowding distance, largest first.
The objectives are those of the Weight Agnostic Neural Networks search (A. Gaier and D. Ha,
"Weight Agnostic Neural Networks", NeurIPS 2019), which Rieke (2020) builds on.

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
    "crowding_distance",
    "domination_matrix",
    "nondominated_fronts",
    "rank_by_dominance",
    "select_objectives",
]


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
