"""Each Hebbian rule's update by hand, the fast population path against the per-network
reference, and the per-layer normalisation."""

import numpy as np
import pytest

from evolearn.hebbian import fused, rules
from evolearn.hebbian.rules import RULES

# A layer of 2 inputs and 3 outputs: pre activities (1, 2), post activities (0.5, -1, 0).
PRE = np.array([1.0, 2.0])
POST = np.array([0.5, -1.0, 0.0])
# Every synapse has A = 1, B = 2, C = 3, D = 4, eta = 0.5, each stored where its rule puts it.
VALUES = {"A": 1.0, "B": 2.0, "C": 3.0, "D": 4.0, "eta": 0.5}

# o_i o_j = [[0.5, -1, 0], [1, -2, 0]], B o_i = [[2], [4]], C o_j = [[1.5, -3, 0]]: by hand,
BY_HAND = {
    "A": [[0.5, -1, 0], [1, -2, 0]],
    "AD": [[4.5, 3, 4], [5, 2, 4]],
    "AD_lr": [[2.25, 1.5, 2], [2.5, 1, 2]],
    "ABC": [[4, -2, 2], [6.5, -1, 4]],
    "ABC_lr": [[2, -1, 1], [3.25, -0.5, 2]],
    "ABCD": [[8, 2, 6], [10.5, 3, 8]],
    "ABCD_lr": [[4, 1, 3], [5.25, 1.5, 4]],
}


def coefficients(rule, shape=(2, 3)):
    return np.stack([np.full(shape, VALUES[name]) for name in RULES[rule]], axis=-1)


def test_the_rules_and_their_coefficient_order_are_the_originals():
    assert RULES["ABCD_lr"] == ("A", "B", "C", "eta", "D")
    assert RULES["AD_lr"] == ("A", "D", "eta")
    assert [rules.coefficient_count(r) for r in RULES] == [1, 2, 3, 3, 4, 4, 5]
    assert rules.DEFAULT_RULE == "ABCD_lr"


@pytest.mark.parametrize("rule", list(RULES))
def test_each_rule_by_hand_in_both_paths(rule):
    start = np.full((2, 3), 0.25)
    h = coefficients(rule)
    np.testing.assert_allclose(rules.update_one(start, PRE, POST, h, rule), start + BY_HAND[rule])
    raw, scale = start[None].copy(), np.ones(1)
    fused.step_layer(
        raw, scale, PRE[None], POST[None], rules.fold(h[None], rule, np.float64), False
    )
    np.testing.assert_allclose(raw[0] * scale[0], start + BY_HAND[rule])
    fused.step_layer(
        raw,
        scale,
        np.zeros((1, 2)),
        np.zeros((1, 3)),
        rules.fold(np.zeros((1, 2, 3, 1)), "A", np.float64),
        True,
    )  # no change, then normalised by the largest weight
    np.testing.assert_allclose(raw[0] * scale[0], rules.normalise_one(start + BY_HAND[rule]))


def test_every_synapse_has_its_own_coefficients():
    # eta = 0 on synapse (1, 2) only (row 1 * 3 + 2 = 5 of the flat [6, k] block): it alone
    # stays; the one beside it, (1, 1), changes as all the others.
    h = coefficients("ABCD_lr")
    h[1, 2, RULES["ABCD_lr"].index("eta")] = 0.0
    assert h.reshape(6, 5)[5, 3] == 0.0
    delta = rules.update_one(np.zeros((2, 3)), PRE, POST, h, "ABCD_lr")
    expected = np.array(BY_HAND["ABCD_lr"])
    expected[1, 2] = 0.0
    np.testing.assert_allclose(delta, expected)


@pytest.mark.parametrize("rule", list(RULES))
@pytest.mark.parametrize("normalise", [True, False])
def test_the_fused_path_equals_the_reference_network_by_network_step_after_step(rule, normalise):
    rng = np.random.default_rng(4)
    population, n_in, n_out, k = 5, 7, 4, rules.coefficient_count(rule)
    h = rng.normal(size=(population, n_in, n_out, k))
    weights = rng.uniform(-0.1, 0.1, size=(population, n_in, n_out))
    raw, scale = weights.copy(), np.ones(population)
    terms = rules.fold(h, rule, np.float64)
    for _ in range(3):
        pre = rng.normal(size=(population, n_in))
        post = np.tanh(rng.normal(size=(population, n_out)))
        for p in range(population):
            weights[p] = rules.update_one(weights[p], pre[p], post[p], h[p], rule)
            if normalise:
                weights[p] = rules.normalise_one(weights[p])
        fused.step_layer(raw, scale, pre, post, terms, normalise)
        np.testing.assert_allclose(raw * scale[:, None, None], weights, rtol=1e-12, atol=1e-15)
    assert normalise == np.allclose(np.abs(weights).max(axis=(1, 2)), 1.0)


def test_normalisation_divides_a_layer_by_its_largest_absolute_weight():
    np.testing.assert_allclose(
        rules.normalise_one(np.array([[1.0, -4.0], [2.0, 0.5]])), [[0.25, -1.0], [0.5, 0.125]]
    )
    np.testing.assert_array_equal(rules.normalise_one(np.zeros((2, 2))), 0.0)  # no NaN


def test_the_fused_path_leaves_a_layer_of_zeros_undivided_as_the_reference():
    layers = [[[0.0, 0.0]], [[1.0, 4.0]], [[2.0, -8.0]]]
    raw, scale = np.array(layers), np.ones(3)
    no_change = rules.fold(np.zeros((3, 1, 2, 1)), "A", np.float64)
    fused.step_layer(raw, scale, np.zeros((3, 1)), np.zeros((3, 2)), no_change, True)
    assert list(scale) == [1.0, 0.25, 0.125]
    for p, layer in enumerate(layers):
        expected = rules.normalise_one(np.array(layer))
        np.testing.assert_array_equal(raw[p] * scale[p], expected)
