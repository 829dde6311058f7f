"""The OpenAI-ES step (evolearn.search.es), by hand on a 2-dimensional example."""

import math

import numpy as np
import pytest

from evolearn.search import es
from evolearn.search.es import ESState, OpenES

# Two noise vectors and their mirror images around the mean (0, 0), sigma 0.5:
# candidates (0.5, 0), (0, 1), (-0.5, 0), (0, -1).
NOISE = np.array([[1.0, 0.0], [0.0, 2.0]])
RETURNS = np.array([3.0, 1.0, 2.0, 4.0])  # ranks 2, 0, 1, 3 of 0..3


def start():
    return ESState(np.zeros(2), lr=0.1, sigma=0.5)


def test_candidates_are_the_antithetic_pairs():
    got = es.candidates(start(), NOISE)
    np.testing.assert_array_equal(got, [[0.5, 0], [0, 1], [-0.5, 0], [0, -1]])


def test_centred_ranks_span_minus_a_half_to_a_half_and_keep_the_order_of_ties():
    np.testing.assert_allclose(es.centred_ranks(RETURNS), [1 / 6, -1 / 2, -1 / 6, 1 / 2])
    np.testing.assert_allclose(es.centred_ranks([5.0, 5.0, 1.0]), [0.0, 0.5, -0.5])


def test_the_step_with_centred_ranks_by_hand():
    # r = (1/6, -1/2, -1/6, 1/2); pairs: r+ - r- = (1/3, -1); (1/3, -1) @ NOISE = (1/3, -2);
    # / popsize 4 = (1/12, -1/2); * lr 0.1 / sigma 0.5 = (1/60, -1/10).
    strategy = OpenES(popsize=4, standardise=False)
    after = es.step(strategy, start(), NOISE, RETURNS)
    np.testing.assert_allclose(after.mean, [1 / 60, -0.1])
    assert (after.lr, after.sigma) == (0.1, 0.5)  # no decay asked for


def test_the_step_with_standardised_ranks_by_hand():
    # The ranks have mean 0 and standard deviation sqrt(5) / 6: standardised they are
    # (1, -3, -1, 3) / sqrt(5), so r+ - r- = (2, -6) / sqrt(5), @ NOISE = (2, -12) / sqrt(5),
    # / 4 * 0.1 / 0.5 = (0.1, -0.6) / sqrt(5).
    strategy = OpenES(popsize=4)
    after = es.step(strategy, start(), NOISE, RETURNS)
    np.testing.assert_allclose(after.mean, np.array([0.1, -0.6]) / math.sqrt(5))


def test_the_l2_term_is_subtracted_before_the_ranks_and_covers_only_the_penalised_part():
    # mean(c^2) of the candidates: 0.125, 0.5, 0.125, 0.5. Returns 1 and 1.001, 0 and 0:
    # without the term the ranks are (2, 3, 0, 1); with 0.01 * mean(c^2) subtracted the
    # second candidate falls below the first and the fourth below the third: (3, 2, 1, 0).
    returns = np.array([1.0, 1.001, 0.0, 0.0])
    state = start()
    plain = es.shaped_fitness(OpenES(popsize=4, standardise=False), state, NOISE, returns)
    np.testing.assert_allclose(plain, np.array([2, 3, 0, 1]) / 3 - 0.5)
    l2 = OpenES(popsize=4, standardise=False, l2=0.01)
    np.testing.assert_allclose(
        es.shaped_fitness(l2, state, NOISE, returns), np.array([3, 2, 1, 0]) / 3 - 0.5
    )
    # Only the first coordinate penalised: 0.01 * c0^2 = 0.0025, 0, 0.0025, 0: ranks as plain.
    first = OpenES(popsize=4, standardise=False, l2=0.01, penalised=1)
    np.testing.assert_allclose(es.shaped_fitness(first, state, NOISE, returns), plain)


def test_lr_and_sigma_decay_after_the_step_while_above_their_floors():
    strategy = OpenES(popsize=4, lr_decay=0.5, lr_floor=0.001, sigma_decay=0.9, sigma_floor=0.4)
    after = es.step(strategy, start(), NOISE, RETURNS)
    # the step itself used the undecayed values (the standardised step above)
    np.testing.assert_allclose(after.mean, np.array([0.1, -0.6]) / math.sqrt(5))
    assert after.lr == pytest.approx(0.05) and after.sigma == pytest.approx(0.45)
    again = es.step(strategy, after, NOISE, RETURNS)
    assert again.sigma == pytest.approx(0.405)  # 0.45 > 0.4: decays once more
    floor = es.step(strategy, ESState(np.zeros(2), 0.001, 0.4), NOISE, RETURNS)
    assert (floor.lr, floor.sigma) == (0.001, 0.4)  # at the floor: no further decay


def test_the_noise_is_half_the_population_and_drawn_from_the_generator():
    strategy = OpenES(popsize=6)
    a = es.sample_noise(strategy, 3, np.random.default_rng(7))
    b = es.sample_noise(strategy, 3, np.random.default_rng(7))
    assert a.shape == (3, 3) and np.array_equal(a, b)


@pytest.mark.parametrize("popsize", [0, 1, 3, 7])
def test_an_odd_or_too_small_population_is_refused(popsize):
    with pytest.raises(ValueError, match="even and at least 2"):
        OpenES(popsize=popsize)


def test_a_search_climbs_a_quadratic():
    strategy = OpenES(popsize=20, lr_decay=0.995, lr_floor=0.001, sigma_decay=0.999)
    state = ESState(np.full(5, 3.0), lr=0.2, sigma=0.1)
    rng = np.random.default_rng(0)
    for _ in range(200):
        noise = es.sample_noise(strategy, 5, rng)
        returns = -np.sum(es.candidates(state, noise) ** 2, axis=1)
        state = es.step(strategy, state, noise, returns)
    assert np.abs(state.mean).max() < 0.6  # from 3 in every coordinate


def test_the_state_round_trips_through_a_dict():
    state = ESState(np.array([1.5, -2.0]), 0.07, 0.03)
    back = ESState.from_dict(state.to_dict())
    assert np.array_equal(back.mean, state.mean) and (back.lr, back.sigma) == (0.07, 0.03)
