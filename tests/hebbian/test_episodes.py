"""Hebbian networks in real Gymnasium environments: a 2-3-2 network's step by hand, actions per
space, early stops, and the whole-population path against the per-network reference."""

import gymnasium
import numpy as np
import pytest

from evolearn.hebbian import episodes, fused, rules
from evolearn.hebbian.network import (
    forward_one,
    layer_shapes,
    random_weights,
    split_layers,
)
from evolearn.hebbian.tasks import ActionMap, EarlyStop, Task, action_map, make_task

T = np.tanh(1.0)  # 0.76159...


def test_a_2_3_2_networks_step_by_hand():
    w1 = np.array([[0.5, 0.0, 1.0], [0.5, 1.0, 0.0]])
    w2 = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    o0, o1, o2 = forward_one([w1, w2], np.array([1.0, -1.0]))
    np.testing.assert_allclose(o1, [0.0, -T, T])  # tanh(0, -1, 1)
    np.testing.assert_allclose(o2, [T, 0.0])  # linear output: not tanh(T)
    # Rule A (A = 1 everywhere): each layer changes by the outer product of its own pre and
    # post activities of this step.
    h1, h2 = np.ones((2, 3, 1)), np.ones((3, 2, 1))
    new1 = rules.update_one(w1, o0, o1, h1, "A")
    new2 = rules.update_one(w2, o1, o2, h2, "A")
    np.testing.assert_allclose(new1 - w1, [[0, -T, T], [0, T, -T]])
    np.testing.assert_allclose(new2 - w2, [[0, 0], [-T * T, 0], [T * T, 0]])
    # The population path gives the same activities.
    scales = [np.ones(1), np.ones(1)]
    batch = fused.forward([w1[None], w2[None]], scales, np.array([[1.0, -1.0]]))
    for one, many in zip((o0, o1, o2), batch, strict=True):
        np.testing.assert_allclose(many[0], one)


def test_layer_shapes_and_the_flat_vector_split_into_layers():
    shapes = layer_shapes(4, (128, 64), 2)
    assert shapes == [(4, 128), (128, 64), (64, 2)]
    flat = np.arange(2 * 3 * 5 + 3 * 2 * 5, dtype=float)
    first, second = split_layers(flat, [(2, 3), (3, 2)], k=5)
    assert first.shape == (2, 3, 5) and second.shape == (3, 2, 5)
    assert first[1, 2, 3] == (1 * 3 + 2) * 5 + 3  # synapse (i, j) at row i * n_out + j
    assert second[0, 0, 0] == 30
    with pytest.raises(ValueError, match="does not fill"):
        split_layers(flat[:-1], [(2, 3), (3, 2)], k=5)


def test_random_weights_have_the_originals_ranges():
    rng = np.random.default_rng(0)
    (uni,) = random_weights("uni", [(100, 100)], rng)
    (normal,) = random_weights("normal", [(100, 100)], rng)
    assert uni.dtype == np.float32 and -0.1 <= uni.min() < -0.099 and 0.099 < uni.max() <= 0.1
    assert normal.std() == pytest.approx(0.024, rel=0.03)


def test_actions_for_each_kind_of_space():
    outputs = np.array([[0.0, 2.0, -1.0], [3.0, 3.0, 0.0]])
    assert action_map("CartPole-v1", gymnasium.spaces.Discrete(3))(outputs) == [1, 0]
    box = gymnasium.spaces.Box(-2.0, 2.0, shape=(3,))
    tanh = action_map("Pendulum-v1", box)(outputs)
    np.testing.assert_allclose(tanh[0], 2 * np.tanh([0.0, 2.0, -1.0]), rtol=1e-6)
    asymmetric = gymnasium.spaces.Box(np.array([0, -1, -1], "f4"), np.array([1, 1, 1], "f4"))
    np.testing.assert_allclose(action_map("X-v0", asymmetric)(outputs)[0][0], 0.5)  # mid
    clip = action_map("Pendulum-v1", box, "clip")(outputs)
    np.testing.assert_allclose(clip[1], [2.0, 2.0, 0.0])
    car = gymnasium.spaces.Box(np.array([-1, 0, 0], "f4"), np.array([1, 1, 1], "f4"))
    steer_gas_brake = action_map("CarRacing-v3", car)(np.array([[1.0, 0.0, 2.0]]))[0]
    np.testing.assert_allclose(steer_gas_brake, [np.tanh(1), 0.5, 1 / (1 + np.exp(-2))], 1e-6)


def test_spaces_the_network_cannot_serve_are_refused_naming_them():
    with pytest.raises(ValueError, match="Dict"):
        action_map("X-v0", gymnasium.spaces.Dict({"a": gymnasium.spaces.Discrete(2)}))
    unbounded = gymnasium.spaces.Box(-np.inf, np.inf, shape=(2,))
    with pytest.raises(ValueError, match="unbounded.*'clip'"):
        action_map("X-v0", unbounded)
    assert action_map("X-v0", unbounded, "clip").kind == "clip"


def test_car_racing_stops_after_more_than_20_negative_rewards_in_a_row():
    stop = EarlyStop(Task("CarRacing-v3", "pixels", 648, 3, ActionMap("car_racing")), 2)
    assert not any(stop(0, -0.1, False, False) for _ in range(20))
    assert stop(0, -0.1, False, False)  # the 21st
    for _ in range(15):
        stop(1, -0.1, False, False)
    assert not stop(1, 3.0, False, False)  # a tile: the count starts again
    assert not any(stop(1, -0.1, False, False) for _ in range(20))
    other = EarlyStop(Task("LunarLander-v3", "vector", 8, 4, ActionMap("argmax")), 1)
    assert not any(other(0, -5.0, False, False) for _ in range(100))
    assert other(0, 1.0, True, False) and other(0, 1.0, False, True)


def population(env, rule, size, seed, dtype=np.float64, hidden=(8, 5)):
    space = gymnasium.make(env)
    n_in, n_out = space.observation_space.shape[0], space.action_space.shape or None
    n_out = space.action_space.n if n_out is None else n_out[0]
    shapes = layer_shapes(n_in, hidden, n_out)
    rng = np.random.default_rng(seed)
    nets = [random_weights("uni", shapes, rng, dtype) for _ in range(size)]
    weights = [np.stack([net[layer] for net in nets]) for layer in range(len(shapes))]
    if rule == rules.STATIC:
        return None, weights, space.action_space
    k = rules.coefficient_count(rule)
    coefficients = [rng.normal(size=(size, a, b, k)) for a, b in shapes]
    return coefficients, weights, space.action_space


@pytest.mark.parametrize(
    "env, rule",
    [
        ("CartPole-v1", "ABCD_lr"),
        ("CartPole-v1", "A"),
        ("CartPole-v1", rules.STATIC),
        ("LunarLander-v3", "ABC_lr"),
        ("Pendulum-v1", "AD"),
    ],
)
def test_the_population_path_equals_the_reference_network_by_network(env, rule):
    coefficients, weights, _ = population(env, rule, 6, seed=1)
    task = make_task(env)
    returns, steps = episodes.population_returns(task, rule, coefficients, weights, 11)
    for p in range(6):
        one = None if coefficients is None else [h[p] for h in coefficients]
        expected = episodes.network_return(task, rule, one, [w[p] for w in weights], 11)
        assert (returns[p], steps[p]) == pytest.approx(expected, rel=1e-9), p
    if env == "CartPole-v1":
        assert len(set(steps)) > 1  # networks that end at different steps (the arrays shrink)


def test_plasticity_changes_the_episode_and_normalisation_is_applied():
    env = "CartPole-v1"
    coefficients, weights, _ = population(env, "ABCD_lr", 4, seed=2)
    task = make_task(env)
    plastic = episodes.population_returns(task, "ABCD_lr", coefficients, weights, 5)
    static = episodes.population_returns(task, rules.STATIC, None, weights, 5)
    raw = episodes.population_returns(task, "ABCD_lr", coefficients, weights, 5, normalise=False)
    assert not np.array_equal(plastic[1], static[1])
    assert not np.array_equal(plastic[1], raw[1])


def test_a_network_whose_rule_diverges_ends_its_episode_with_a_nan_return_in_both_paths():
    env = "CartPole-v1"
    coefficients, weights, space = population(env, "ABCD", 3, seed=3)
    coefficients = [h.copy() for h in coefficients]
    for h in coefficients:
        h[1] *= 1e30  # network 1 only: its weights overflow within a few steps
    task = make_task(env)
    returns, steps = episodes.population_returns(
        task, "ABCD", coefficients, weights, 7, normalise=False
    )
    assert np.isnan(returns[1]) and np.isfinite(returns[[0, 2]]).all()
    for p in range(3):
        one = episodes.network_return(
            task, "ABCD", [h[p] for h in coefficients], [w[p] for w in weights], 7,
            normalise=False,
        )  # fmt: skip
        np.testing.assert_equal((returns[p], steps[p]), one)
