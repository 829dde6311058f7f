"""Tests of NSGA-II ranking (objectives maximised) and the objectives of a generation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from evolearn.search.ranking import (
    crowding_distance,
    domination_matrix,
    nondominated_fronts,
    rank_by_dominance,
    select_objectives,
)

INF = math.inf

# Seven points in 2-D, both objectives maximised, listed out of front order on purpose.
#   index: point     front  why
#   0: (5, 4)        0      nobody has x >= 5 and y >= 4 except itself
#   1: (2, 3)        2      dominated by 3 (4,3) and 5 (2,6), which are in front 1
#   2: (0, 10)       0      the largest y
#   3: (4, 3)        1      dominated only by 0 (5,4)
#   4: (9, 0)        0      the largest x
#   5: (2, 6)        1      dominated only by 6 (3,8)
#   6: (3, 8)        0      nobody has x >= 3 and y >= 8 except itself
HAND_POINTS = np.array([[5, 4], [2, 3], [0, 10], [4, 3], [9, 0], [2, 6], [3, 8]], dtype=float)
HAND_FRONTS = [[0, 2, 4, 6], [3, 5], [1]]
# Crowding in front 0 = points 0 (5,4), 2 (0,10), 4 (9,0), 6 (3,8):
#   x sorted: 2 (0), 6 (3), 0 (5), 4 (9); range 9; ends 2 and 4 -> inf;
#             6 adds (5 - 0) / 9 = 5/9, 0 adds (9 - 3) / 9 = 6/9
#   y sorted: 4 (0), 0 (4), 6 (8), 2 (10); range 10; ends 4 and 2 -> inf;
#             0 adds (8 - 0) / 10 = 0.8, 6 adds (10 - 4) / 10 = 0.6
#   point 0: 6/9 + 0.8 = 1.4667, point 6: 5/9 + 0.6 = 1.1556
# so front 0 in rank order: 2 (inf), 4 (inf, larger index), 0, 6.
# Front 1 (points 3, 5) has two points: both inf, index order. Front 2 is point 1.
HAND_RANKS = [2, 6, 0, 4, 1, 5, 3]


# --------------------------------------------------------------------------------------------
# Reference implementations by definition (pure Python, slow)


def dominates_by_definition(a, b) -> bool:
    return all(x >= y for x, y in zip(a, b, strict=True)) and any(
        x > y for x, y in zip(a, b, strict=True)
    )


def fronts_by_definition(points: list[list[float]]) -> list[list[int]]:
    """O(P^3): repeatedly take the remaining points that no remaining point dominates."""
    remaining = list(range(len(points)))
    fronts = []
    while remaining:
        front = [
            j
            for j in remaining
            if not any(dominates_by_definition(points[i], points[j]) for i in remaining)
        ]
        fronts.append(front)
        remaining = [j for j in remaining if j not in front]
    return fronts


def crowding_by_definition(points: list[list[float]]) -> list[float]:
    n = len(points)
    if n <= 2:
        return [INF] * n
    distance = [0.0] * n
    for m in range(len(points[0])):
        order = sorted(range(n), key=lambda i: (points[i][m], i))
        low, high = points[order[0]][m], points[order[-1]][m]
        distance[order[0]] = distance[order[-1]] = INF
        for k in range(1, n - 1):
            if high > low:
                gap = points[order[k + 1]][m] - points[order[k - 1]][m]
                distance[order[k]] += gap / (high - low)
    return distance


def random_objectives(seed: int) -> np.ndarray:
    """Random objective sets of several kinds: continuous, coarse (many ties and duplicate
    points), with explicitly duplicated rows, and with three objectives."""
    rng = np.random.default_rng(seed)
    kind = seed % 4
    num_points = int(rng.integers(1, 31))
    if kind == 0:
        return rng.normal(size=(num_points, 2))
    if kind == 1:
        return rng.integers(0, 4, size=(num_points, 2)).astype(float)
    if kind == 2:
        base = rng.random((num_points, 2))
        return base[rng.integers(0, num_points, size=num_points)]
    return rng.integers(0, 5, size=(num_points, 3)).astype(float)


# --------------------------------------------------------------------------------------------
# Non-dominated fronts


def test_fronts_of_the_hand_example():
    fronts = nondominated_fronts(HAND_POINTS)
    assert [front.tolist() for front in fronts] == HAND_FRONTS
    assert all(front.dtype == np.int64 for front in fronts)


def test_domination_matrix_of_the_hand_example():
    dominates = domination_matrix(HAND_POINTS)
    dominated_by = {j: sorted(np.flatnonzero(dominates[:, j]).tolist()) for j in range(7)}
    # Point 1 (2,3) is dominated by 0 (5,4), 3 (4,3), 5 (2,6) and 6 (3,8).
    assert dominated_by == {0: [], 1: [0, 3, 5, 6], 2: [], 3: [0], 4: [], 5: [6], 6: []}


def test_identical_points_share_a_front_and_do_not_dominate_each_other():
    points = np.array([[1.0, 1.0], [2.0, 2.0], [1.0, 1.0], [2.0, 2.0]])
    assert not domination_matrix(points)[1, 3]
    assert [f.tolist() for f in nondominated_fronts(points)] == [[1, 3], [0, 2]]


def test_equal_in_one_objective_and_better_in_the_other_dominates():
    points = np.array([[3.0, 1.0], [3.0, 2.0]])
    assert [f.tolist() for f in nondominated_fronts(points)] == [[1], [0]]


def test_fronts_maximise_rather_than_minimise():
    points = np.array([[0.0, 0.0], [1.0, 1.0]])
    assert [f.tolist() for f in nondominated_fronts(points)] == [[1], [0]]


def test_empty_population_has_no_fronts():
    assert nondominated_fronts(np.zeros((0, 2))) == []
    assert rank_by_dominance(np.zeros((0, 2))).shape == (0,)


def test_nan_objectives_are_rejected():
    with pytest.raises(ValueError, match="NaN"):
        nondominated_fronts(np.array([[1.0, np.nan], [0.0, 0.0]]))


# --------------------------------------------------------------------------------------------
# Crowding distance


def test_crowding_distance_by_hand_normalises_each_objective_by_its_range():
    # A front of five points (x up, y down); x spans 0..100, y spans 0..2, rows shuffled.
    #   x sorted: a 0, b 20, c 30, d 70, e 100; range 100
    #     b: (30 - 0) / 100 = 0.3   c: (70 - 20) / 100 = 0.5   d: (100 - 30) / 100 = 0.7
    #   y sorted: e 0.0, d 0.6, c 1.0, b 1.8, a 2.0; range 2
    #     d: (1.0 - 0.0) / 2 = 0.5  c: (1.8 - 0.6) / 2 = 0.6   b: (2.0 - 1.0) / 2 = 0.5
    #   a and e are the ends of both: inf.
    #   b = 0.3 + 0.5 = 0.8, c = 0.5 + 0.6 = 1.1, d = 0.7 + 0.5 = 1.2 (no ties).
    # Without the normalisation b, c, d would be 31.0, 51.2, 71.0.
    a, b, c, d, e = [0, 2.0], [20, 1.8], [30, 1.0], [70, 0.6], [100, 0.0]
    front = np.array([c, e, a, d, b])
    expected = [1.1, INF, INF, 1.2, 0.8]
    np.testing.assert_allclose(crowding_distance(front), expected, rtol=1e-12)


def test_crowding_distance_of_the_hand_front():
    front = HAND_POINTS[HAND_FRONTS[0]]  # points 0, 2, 4, 6
    np.testing.assert_allclose(
        crowding_distance(front), [6 / 9 + 0.8, INF, INF, 5 / 9 + 0.6], rtol=1e-12
    )


def test_crowding_distance_of_a_constant_objective_adds_nothing_but_keeps_infinite_ends():
    # x sorted: 0 (0), 2 (1), 1 (4), 3 (10); range 10: row 2 gets (4 - 0)/10 = 0.4,
    # row 1 gets (10 - 1)/10 = 0.9. y is 7 everywhere: range 0, adds 0; its ends by the stable
    # sort are rows 0 and 3, already inf.
    front = np.array([[0, 7], [4, 7], [1, 7], [10, 7]], dtype=float)
    np.testing.assert_allclose(crowding_distance(front), [INF, 0.9, 0.4, INF])


def test_crowding_distance_of_identical_points_is_infinite_at_the_ends_only():
    front = np.full((4, 2), 3.0)
    np.testing.assert_array_equal(crowding_distance(front), [INF, 0.0, 0.0, INF])


def test_crowding_distance_of_one_or_two_points_is_infinite():
    np.testing.assert_array_equal(crowding_distance(np.array([[1.0, 2.0]])), [INF])
    np.testing.assert_array_equal(crowding_distance(np.array([[1.0, 2.0], [2.0, 1.0]])), [INF, INF])
    assert crowding_distance(np.zeros((0, 2))).shape == (0,)


@pytest.mark.parametrize("seed", range(40))
def test_crowding_distance_agrees_with_the_reference(seed):
    points = random_objectives(seed)
    np.testing.assert_allclose(
        crowding_distance(points), crowding_by_definition(points.tolist()), rtol=1e-12
    )


# --------------------------------------------------------------------------------------------
# Ranks


def test_ranks_of_the_hand_example():
    ranks = rank_by_dominance(HAND_POINTS)
    assert ranks.dtype == np.int64
    assert ranks.tolist() == HAND_RANKS


def test_ranks_of_identical_points_follow_index_order():
    assert rank_by_dominance(np.ones((5, 2))).tolist() == [0, 2, 3, 4, 1]
    # (ends 0 and 4 are inf, the middle three 0 and keep their index order)


@pytest.mark.parametrize("seed", range(200))
def test_ranks_agree_with_brute_force_fronts_and_crowding(seed):
    points = random_objectives(seed)
    ranks = rank_by_dominance(points)
    expected_fronts = fronts_by_definition(points.tolist())

    # (b) the fronts are those of the definition
    assert [f.tolist() for f in nondominated_fronts(points)] == expected_fronts

    # (a) every network of an earlier front has a better rank than every one of a later front
    for earlier, later in zip(expected_fronts, expected_fronts[1:], strict=False):
        assert ranks[earlier].max() < ranks[later].min()

    # (c) inside a front: crowding distance descending, equal distances by index
    for front in expected_fronts:
        distance = crowding_by_definition(points[front].tolist())
        expected_order = sorted(range(len(front)), key=lambda k: (-distance[k], front[k]))
        by_rank = np.argsort(ranks[front])
        assert by_rank.tolist() == expected_order


@settings(max_examples=200, deadline=None)
@given(
    hnp.arrays(
        dtype=np.float64,
        shape=hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=25).map(
            lambda s: (s[0], min(s[1], 3))
        ),
        elements=st.one_of(
            st.integers(-2, 2).map(float),
            st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
        ),
    )
)
def test_ranks_are_a_permutation_and_never_put_a_dominated_network_first(points):
    ranks = rank_by_dominance(points)
    assert sorted(ranks.tolist()) == list(range(len(points)))
    dominates = domination_matrix(points)
    # dominates[i, j] and ranks[j] < ranks[i] must never happen together
    assert not (dominates & (ranks[None, :] < ranks[:, None])).any()


# --------------------------------------------------------------------------------------------
# Objectives


MEAN = np.array([1.0, 2.0, 3.0, -1.0])
MAX = np.array([5.0, 6.0, 7.0, 0.5])
CONNECTIONS = np.array([0, 1, 4, 10])


def test_select_objectives_with_p_one_uses_inverse_complexity():
    objectives = select_objectives(MEAN, MAX, CONNECTIONS, 1.0, np.random.default_rng(0))
    # 1 / max(1, c): c = 0 -> 1, 1 -> 1, 4 -> 0.25, 10 -> 0.1
    np.testing.assert_allclose(objectives, [[1, 1], [2, 1], [3, 0.25], [-1, 0.1]])
    assert objectives.dtype == np.float64


def test_select_objectives_with_p_zero_uses_max_reward():
    objectives = select_objectives(MEAN, MAX, CONNECTIONS, 0.0, np.random.default_rng(0))
    np.testing.assert_array_equal(objectives, [[1, 5], [2, 6], [3, 7], [-1, 0.5]])


def test_select_objectives_complexity_objective_is_at_most_one_for_no_connections():
    objectives = select_objectives(
        np.zeros(3), np.zeros(3), np.array([0, 0, 2]), 1.0, np.random.default_rng(0)
    )
    np.testing.assert_array_equal(objectives[:, 1], [1.0, 1.0, 0.5])


def test_select_objectives_draws_once_per_call_and_chooses_with_that_draw():
    rng = np.random.default_rng(7)
    twin = np.random.default_rng(7)
    p = 0.3
    chose_complexity = []
    for _ in range(400):
        objectives = select_objectives(MEAN, MAX, CONNECTIONS, p, rng)
        complexity = objectives[2, 1] == 0.25
        assert complexity == (twin.random() < p)
        chose_complexity.append(complexity)
    # the generators stayed in step: exactly one draw per call
    assert rng.random() == twin.random()
    assert 0.2 < np.mean(chose_complexity) < 0.4


def test_select_objectives_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="one length"):
        select_objectives(MEAN, MAX[:2], CONNECTIONS, 0.5, np.random.default_rng(0))


@pytest.mark.parametrize("seed", range(30))
def test_fast_ranking_equals_the_plain_python_reference(seed):
    from evolearn.search.ranking import rank_by_dominance_reference

    objectives = random_objectives(seed)
    np.testing.assert_array_equal(
        rank_by_dominance(objectives), rank_by_dominance_reference(objectives)
    )


# --------------------------------------------------------------------------------------------
# Edge cases found by mutation testing (benchmarks/mutation.py)


def test_shape_errors_name_the_argument():
    with pytest.raises(ValueError, match="front_objectives must be a 2-D array"):
        crowding_distance(np.zeros(3))
    with pytest.raises(ValueError, match="^objectives must be a 2-D array"):
        rank_by_dominance(np.zeros(3))


def test_reference_ranking_of_no_points_is_empty():
    from evolearn.search.ranking import rank_by_dominance_reference

    assert rank_by_dominance_reference(np.zeros((0, 2))).tolist() == []


class FixedDraw:
    """A generator whose next uniform draw is known (the edges of [0, 1))."""

    def __init__(self, value: float):
        self.value = value

    def random(self) -> float:
        return self.value


def test_complexity_objective_is_chosen_with_probability_p_at_the_edges():
    mean, best, connections = np.array([1.0, 2.0]), np.array([3.0, 4.0]), np.array([4, 0])
    # p = 0: never the complexity objective, even when the draw is exactly 0.
    never = select_objectives(mean, best, connections, 0.0, FixedDraw(0.0))
    np.testing.assert_array_equal(never, [[1.0, 3.0], [2.0, 4.0]])
    # p = 1: always, even for the largest draw below 1.
    always = select_objectives(mean, best, connections, 1.0, FixedDraw(np.nextafter(1.0, 0.0)))
    np.testing.assert_array_equal(always, [[1.0, 0.25], [2.0, 1.0]])
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError, match="p_complexity_objective"):
            select_objectives(mean, best, connections, p, FixedDraw(0.5))
