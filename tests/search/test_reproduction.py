"""Tests of reproduction: culling, elitism and tournaments (objectives maximised)."""

from __future__ import annotations

import numpy as np
import pytest

from evolearn.search.reproduction import breeding_pool_size, reproduce

# --------------------------------------------------------------------------------------------
# Reproduction


def test_breeding_pool_size_by_hand():
    assert breeding_pool_size(960, 0.2) == 768
    assert breeding_pool_size(10, 0.25) == 8  # int(2.5) = 2 culled
    assert breeding_pool_size(96, 0.0) == 96


@pytest.mark.parametrize(
    "population_size, cull_ratio, elite_ratio, tournament_size",
    [(10, 0.2, 0.2, 2), (96, 0.2, 0.2, 12), (7, 0.5, 0.3, 4), (5, 0.0, 0.0, 1), (4, 0.0, 1.0, 4)],
)
def test_reproduce_keeps_the_population_size(
    population_size, cull_ratio, elite_ratio, tournament_size
):
    ranks = np.random.default_rng(0).permutation(population_size)
    elites, parents = reproduce(
        ranks,
        cull_ratio=cull_ratio,
        elite_ratio=elite_ratio,
        tournament_size=tournament_size,
        rng=np.random.default_rng(1),
    )
    assert len(elites) == int(population_size * elite_ratio)
    assert len(elites) + len(parents) == population_size
    assert elites.dtype == parents.dtype == np.int64


def test_reproduce_elites_are_the_best_ranked_best_first():
    # network i has rank ranks[i]; the best three are 4 (rank 0), 1 (rank 1), 7 (rank 2)
    ranks = np.array([5, 1, 9, 3, 0, 8, 6, 2, 4, 7])
    elites, _ = reproduce(
        ranks, cull_ratio=0.2, elite_ratio=0.3, tournament_size=2, rng=np.random.default_rng(0)
    )
    assert elites.tolist() == [4, 1, 7]


@pytest.mark.parametrize("seed", range(100))
def test_reproduce_never_breeds_from_the_culled(seed):
    rng = np.random.default_rng(seed)
    population_size = int(rng.integers(5, 60))
    ranks = rng.permutation(population_size)
    cull_ratio = float(rng.uniform(0.0, 0.6))
    num_culled = int(population_size * cull_ratio)
    tournament_size = int(rng.integers(1, population_size - num_culled + 1))
    _, parents = reproduce(
        ranks, cull_ratio=cull_ratio, elite_ratio=0.2, tournament_size=tournament_size, rng=rng
    )
    assert (ranks[parents] < population_size - num_culled).all()


def test_tournament_of_the_whole_pool_is_always_won_by_the_best():
    # members are distinct, so a tournament as large as the pool contains the best network
    ranks = np.random.default_rng(3).permutation(50)
    best = int(np.argmin(ranks))
    for seed in range(20):
        _, parents = reproduce(
            ranks,
            cull_ratio=0.2,
            elite_ratio=0.1,
            tournament_size=breeding_pool_size(50, 0.2),
            rng=np.random.default_rng(seed),
        )
        assert (parents == best).all()


def test_tournament_one_smaller_than_the_pool_is_won_by_one_of_the_best_two():
    # with distinct members only one network of the pool is left out of each tournament
    ranks = np.arange(20)
    _, parents = reproduce(
        ranks, cull_ratio=0.5, elite_ratio=0.0, tournament_size=9, rng=np.random.default_rng(0)
    )
    assert set(parents.tolist()) <= {0, 1}


def test_tournament_winner_distribution_favours_better_ranks():
    # Pool of S = 8 (10 networks, 2 culled), tournaments of k = 2 distinct members, no elite.
    # The pool member of place j (0 = best) wins iff it is drawn with one of the S - 1 - j
    # worse members: P(j) = (S - 1 - j) / C(S, 2) = (7 - j) / 28.
    ranks = np.arange(10)
    rng = np.random.default_rng(11)
    wins = np.zeros(10, dtype=np.int64)
    for _ in range(3000):
        _, parents = reproduce(ranks, cull_ratio=0.2, elite_ratio=0.0, tournament_size=2, rng=rng)
        wins += np.bincount(parents, minlength=10)
    total = wins.sum()
    expected = np.array([(7 - j) / 28 for j in range(8)] + [0.0, 0.0])
    sigma = np.sqrt(total * expected * (1 - expected))
    assert (np.abs(wins - total * expected) <= 5 * sigma + 1e-9).all()
    assert (np.diff(wins[:8]) < 0).all()


def test_reproduce_is_deterministic_under_the_same_seed():
    ranks = np.random.default_rng(0).permutation(96)

    def plan(seed):
        return reproduce(
            ranks,
            cull_ratio=0.2,
            elite_ratio=0.2,
            tournament_size=12,
            rng=np.random.default_rng(seed),
        )

    (elites_a, parents_a), (elites_b, parents_b) = plan(5), plan(5)
    np.testing.assert_array_equal(elites_a, elites_b)
    np.testing.assert_array_equal(parents_a, parents_b)
    assert not np.array_equal(parents_a, plan(6)[1])


def test_reproduce_rejects_a_tournament_larger_than_the_breeding_pool():
    ranks = np.arange(10)
    with pytest.raises(ValueError, match="breeding pool"):
        reproduce(
            ranks, cull_ratio=0.2, elite_ratio=0.2, tournament_size=9, rng=np.random.default_rng()
        )
    with pytest.raises(ValueError, match="at least 1"):
        reproduce(
            ranks, cull_ratio=0.2, elite_ratio=0.2, tournament_size=0, rng=np.random.default_rng()
        )


def test_reproduce_breaks_equal_ranks_by_index():
    # Ties sorted by index, as the docstring promises: a non-stable sort would scramble them.
    ranks = np.arange(200) % 3  # 0, 1, 2, 0, 1, 2, ...
    elites, _ = reproduce(
        ranks, cull_ratio=0.0, elite_ratio=0.5, tournament_size=1, rng=np.random.default_rng(0)
    )
    assert elites.tolist() == [i for r in (0, 1, 2) for i in range(200) if i % 3 == r][:100]


def test_tournament_winners_are_the_best_of_the_k_smallest_keys():
    # The tournament of each child: the `tournament_size` pool positions with the smallest
    # random keys (a uniform random subset); the best-ranked of them wins.
    ranks = np.random.default_rng(1).permutation(60)
    k = 9
    elites, parents = reproduce(
        ranks, cull_ratio=0.2, elite_ratio=0.1, tournament_size=k, rng=np.random.default_rng(2)
    )
    order = np.argsort(ranks, kind="stable")
    keys = np.random.default_rng(2).random((60 - 6, 48))  # one block of children
    members = np.argsort(keys, axis=1)[:, :k]
    np.testing.assert_array_equal(parents, order[members.min(axis=1)])


def test_culling_everything_leaves_no_pool_for_a_tournament():
    with pytest.raises(ValueError, match="larger than the breeding pool"):
        reproduce(
            np.arange(10),
            cull_ratio=1.0,
            elite_ratio=0.0,
            tournament_size=1,
            rng=np.random.default_rng(0),
        )
