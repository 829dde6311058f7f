"""The image, one-hot and ant tasks of run-hebbian-gym.py: the pixel front against torch's
convolutions, frames as Gymnasium's resize wrapper makes them, the ant's reward, burn-in and
stall rule by hand, its damaged bodies, and both episode paths on real CarRacing and Ant
episodes."""

import xml.etree.ElementTree as ET

import gymnasium
import numpy as np
import pytest

from evolearn.envs import ant
from evolearn.hebbian import episodes, pixels, rules
from evolearn.hebbian.network import layer_shapes, random_weights
from evolearn.hebbian.tasks import (
    ActionMap,
    EarlyStop,
    Task,
    input_kind,
    make_task,
)

mujoco = pytest.importorskip("mujoco")


def conv_population(size, seed):
    rng = np.random.default_rng(seed)
    flats = [pixels.initial_conv_weights(rng) for _ in range(size)]
    layers = zip(*(pixels.split_conv(f) for f in flats), strict=True)
    return [np.stack(layer).astype(np.float32) for layer in layers]


def test_the_pixel_front_has_the_originals_sizes():
    assert pixels.feature_count() == 648  # 8 channels of 9 x 9
    assert pixels.conv_weight_count() == 162 + 1200
    assert pixels.conv_shapes() == [(6, 3, 3, 3), (8, 6, 5, 5)]
    weights = pixels.split_conv(pixels.initial_conv_weights(np.random.default_rng(0)))
    for w in weights:  # PyTorch's default: U(+-1 / sqrt(fan_in))
        bound = 1 / np.sqrt(np.prod(w.shape[1:]))
        assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound


def test_the_pixel_front_computes_torchs_convolutions_pooling_and_flattening():
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    conv = conv_population(3, seed=1)
    frames = np.random.default_rng(2).random((3, 3, 84, 84), dtype=np.float32)
    fast = pixels.PixelFront(conv)(frames)
    for p in range(3):
        x = torch.from_numpy(frames[p : p + 1])
        for w, (_, _, _, stride) in zip(conv, pixels.CONV_LAYERS, strict=True):
            x = functional.conv2d(x, torch.from_numpy(w[p]), stride=stride)
            x = functional.max_pool2d(torch.tanh(x), 2)
        expected = torch.flatten(x, 1)[0].numpy()
        np.testing.assert_allclose(fast[p], expected, atol=2e-6)
        np.testing.assert_allclose(pixels.conv_one([w[p] for w in conv], frames[p]), expected,
                                   atol=2e-6)  # fmt: skip


def test_a_frame_is_gymnasiums_resized_observation_scaled_to_one_channel_first():
    env = gymnasium.make("CarRacing-v3")
    resized = gymnasium.wrappers.ResizeObservation(gymnasium.make("CarRacing-v3"), (84, 84))
    raw, _ = env.reset(seed=3)
    wrapped, _ = resized.reset(seed=3)
    for _ in range(60):  # past the zoom of the start: a track on the frame
        raw, *_ = env.step(np.array([0.0, 0.5, 0.0], "f4"))
        wrapped, *_ = resized.step(np.array([0.0, 0.5, 0.0], "f4"))
    frame = pixels.frame(raw)
    assert frame.shape == (3, 84, 84) and frame.dtype == np.float32
    np.testing.assert_allclose(frame, wrapped.transpose(2, 0, 1) / 255.0, atol=1e-7)
    assert 0 <= frame.min() and frame.max() <= 1 and frame.std() > 0.05
    env.close()
    resized.close()


def test_observation_spaces_give_their_inputs():
    assert input_kind("X", gymnasium.spaces.Box(-1, 1, (5,))) == ("vector", 5)
    assert input_kind("X", gymnasium.spaces.Discrete(16)) == ("one_hot", 16)
    assert input_kind("X", gymnasium.spaces.Box(0, 255, (96, 96, 3), np.uint8)) == ("pixels", 648)
    with pytest.raises(ValueError, match=r"\(4, 4\)"):
        input_kind("X", gymnasium.spaces.Box(0, 1, (4, 4)))
    frozen = make_task("FrozenLake-v1")
    assert (frozen.inputs, frozen.num_inputs, frozen.num_outputs) == ("one_hot", 16, 4)
    np.testing.assert_array_equal(frozen.observe(np.int64(2), np.float32), np.eye(16)[2])


def test_the_ant_walks_the_distance_it_is_scored_for_after_its_burn_in():
    task = make_task("Ant-v5")
    assert (task.inputs, task.num_inputs, task.num_outputs) == ("vector", 27, 8)
    assert task.output_tanh and task.actions.kind == "clip"
    env = task.make()
    plain = gymnasium.make("Ant-v5", include_cfrc_ext_in_observation=False)
    observation = task.reset(env, seed=4)
    first, _ = plain.reset(seed=4)
    zero = np.zeros(8, "f4")
    for _ in range(40):  # the original's count, written out (ANT_BURN_IN is the code's)
        first, *_ = plain.step(zero)
    np.testing.assert_array_equal(observation, first)  # 40 zero-action steps first
    start = env.unwrapped.data.qpos[0]
    walked = 0.0
    action = np.full(8, 0.7, "f4")
    for _ in range(30):
        _, reward, terminated, _ = task.step(env, action)
        walked += reward
    assert walked == pytest.approx(env.unwrapped.data.qpos[0] - start, rel=1e-6, abs=1e-9)
    assert terminated == (not env.unwrapped.is_healthy)
    env.close()
    plain.close()


def test_the_ants_stall_rule_counts_only_after_step_200():
    task = Task("Ant-v5", "vector", 27, 8, ActionMap("clip"))
    stop = EarlyStop(task, 2)
    calls = 1
    while not stop(0, -0.01, False, False):
        calls += 1
    # steps 1..201 (the original's t <= 200) never stop it; the 31st negative after them does
    assert calls == 201 + 31
    # a fall is ignored until then, and ends the episode after
    assert not any(stop(1, 1.0, True, False) for _ in range(201))
    assert stop(1, 1.0, True, False)
    assert EarlyStop(task, 1)(0, 1.0, False, True)  # the time limit always ends it


def test_a_damaged_body_differs_from_the_standard_one_in_its_one_leg_only():
    standard = mujoco.MjModel.from_xml_string(ant.morphology_xml("standard"))
    for name, geom in (("damaged_left", "left_ankle_geom"), ("damaged_right", "fourth_ankle_geom")):
        damaged = mujoco.MjModel.from_xml_string(ant.morphology_xml(name))
        index = mujoco.mj_name2id(damaged, mujoco.mjtObj.mjOBJ_GEOM, geom)
        for field in ("geom_size", "geom_pos"):
            before, after = getattr(standard, field), getattr(damaged, field)
            differs = np.flatnonzero(~np.isclose(before, after).all(axis=1))
            assert differs.tolist() == [index], (name, field)
        # the capsule's half-length: 0.4 * sqrt(2) / 2 -> a quarter of it
        assert damaged.geom_size[index, 1] == pytest.approx(standard.geom_size[index, 1] / 4)
        assert damaged.nbody == standard.nbody and damaged.nu == standard.nu
        root = ET.fromstring(ant.morphology_xml(name))
        assert root.find(f".//geom[@name='{geom}']").get("fromto") in (
            "0 0 0 0.1 0.1 0",
            "0 0 0 0.1 -0.1 0",
        )
    with pytest.raises(ValueError, match="damaged_left"):
        ant.morphology_xml("three_legs")


def ant_population(task, rule, size, seed):
    shapes = layer_shapes(task.num_inputs, (6,), task.num_outputs)
    rng = np.random.default_rng(seed)
    nets = [random_weights("uni", shapes, rng, np.float64) for _ in range(size)]
    weights = [np.stack(layer) for layer in zip(*nets, strict=True)]
    k = rules.coefficient_count(rule)
    coefficients = [rng.normal(size=(size, a, b, k)) * 0.1 for a, b in shapes]
    return coefficients, weights


@pytest.mark.parametrize("morphology", ["standard", "damaged_left"])
def test_the_ant_population_path_equals_the_reference(morphology):
    task = make_task("Ant-v5", morphology=morphology)
    coefficients, weights = ant_population(task, "ABCD_lr", 3, seed=5)
    returns, steps = episodes.population_returns(
        task, "ABCD_lr", coefficients, weights, 9, normalise=False
    )
    for p in range(3):
        one = episodes.network_return(
            task, "ABCD_lr", [h[p] for h in coefficients], [w[p] for w in weights], 9,
            normalise=False,
        )  # fmt: skip
        assert (returns[p], steps[p]) == pytest.approx(one, rel=1e-9)
    assert (steps > 200).all()  # the grace steps are run


def test_the_damaged_ant_walks_otherwise():
    standard = make_task("Ant-v5")
    coefficients, weights = ant_population(standard, "ABCD_lr", 2, seed=6)
    a = episodes.population_returns(standard, "ABCD_lr", coefficients, weights, 9)
    b = episodes.population_returns(
        standard.with_morphology("damaged_right"), "ABCD_lr", coefficients, weights, 9
    )
    assert not np.array_equal(a[0], b[0])


@pytest.mark.parametrize("rule", ["ABCD_lr", rules.STATIC])
def test_the_car_racing_population_path_equals_the_reference(rule):
    task = make_task("CarRacing-v3")
    assert (task.inputs, task.num_inputs, task.num_outputs) == ("pixels", 648, 3)
    shapes = layer_shapes(648, (5,), 3)
    rng = np.random.default_rng(7)
    nets = [random_weights("uni", shapes, rng) for _ in range(3)]
    weights = [np.stack(layer) for layer in zip(*nets, strict=True)]
    coefficients = None
    if rule != rules.STATIC:
        coefficients = [rng.normal(size=(3, a, b, 5)) for a, b in shapes]
    conv = conv_population(3, seed=8)
    returns, steps = episodes.population_returns(task, rule, coefficients, weights, 2, conv=conv)
    for p in range(3):
        one = episodes.network_return(
            task, rule, None if coefficients is None else [h[p] for h in coefficients],
            [w[p] for w in weights], 2, conv=[c[p] for c in conv],
        )  # fmt: skip
        assert returns[p] == pytest.approx(one[0], rel=1e-5, abs=1e-5) and steps[p] == one[1]
    assert (steps >= 21).all()  # at least the 21 negative rewards of the early stop


def test_every_episode_of_every_candidate_on_every_body_draws_its_own_weights():
    from evolearn.hebbian.search import Candidates, EpisodesTask, Layout, _weight_rng

    layout = Layout(((2, 2),), "A", False)
    task = EpisodesTask(
        Candidates(np.zeros(4), 0.1, 0, 1, 8), range(2, 6), layout, make_task("CartPole-v1"),
        (11, 12, 13), (0, 1, 12), "uni", True, ("standard", "damaged_left"),
    )  # fmt: skip
    draws = [_weight_rng(task, i, e).random() for i in range(4) for e in range(6)]
    assert len(set(draws)) == 4 * 6
