"""Tests of evolearn.envs: the CartPoleSwingUp physics, environment, registration, make_env."""

from __future__ import annotations

import math
import warnings

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from evolearn.envs import env_exists, make_env
from evolearn.envs.cartpole_swingup import (
    CartPoleSwingUpEnv,
    swingup_initial_state,
    swingup_observation,
    swingup_out_of_bounds,
    swingup_reward,
    swingup_step,
)
from evolearn.errors import ParamError, UserError


def reference_step(state, action):
    """One step from the SPEC equations with plain Python floats: (next_state, reward)."""
    g, m_c, m_p, l, b, dt = 9.82, 0.5, 0.5, 0.6, 0.1, 0.01
    x, x_dot, th, th_dot = state
    force = 10.0 * min(max(action, -1.0), 1.0)
    s, c = math.sin(th), math.cos(th)
    x_acc = (-2 * m_p * l * th_dot**2 * s + 3 * m_p * g * s * c + 4 * force - 4 * b * x_dot) / (
        4 * (m_c + m_p) - 3 * m_p * c**2
    )
    th_acc = (
        -3 * m_p * l * th_dot**2 * s * c + 6 * (m_c + m_p) * g * s + 6 * (force - b * x_dot) * c
    ) / (4 * l * (m_c + m_p) - 3 * m_p * l * c**2)
    nxt = (x + x_dot * dt, x_dot + x_acc * dt, th + th_dot * dt, th_dot + th_acc * dt)
    reward = (math.cos(nxt[2]) + 1) / 2 * math.cos(nxt[0] / 2.4 * math.pi / 2)
    return nxt, reward


# --------------------------------------------------------------------------------------------
# physics and reward


@pytest.mark.parametrize(
    "state, action",
    [
        ((0.0, 0.0, math.pi, 0.0), 0.0),
        ((0.3, -0.7, 2.5, 1.9), 0.4),
        ((-1.2, 1.5, -0.4, -3.0), -0.9),
        ((2.0, 0.2, 0.1, 6.0), 3.0),  # action clipped to 1
        ((0.5, 0.0, 1.0, -2.0), -7.5),  # action clipped to -1
    ],
)
def test_swingup_step_matches_the_spec_equations_by_hand(state, action):
    expected_state, expected_reward = reference_step(state, action)
    next_state, reward = swingup_step(np.array([state]), np.array([action]))
    assert next_state.shape == (1, 4) and reward.shape == (1,)
    assert next_state.dtype == np.float64 and reward.dtype == np.float64
    np.testing.assert_allclose(next_state[0], expected_state, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(reward[0], expected_reward, rtol=1e-12, atol=1e-15)


def test_swingup_step_several_steps_by_hand_stay_on_the_reference():
    state = (0.1, 0.0, 3.0, 0.5)
    batch = np.array([state])
    for action in (1.0, 1.0, -0.5, 0.0, 0.25, -1.0):
        state, reward = reference_step(state, action)
        batch, batch_reward = swingup_step(batch, np.array([action]))
        np.testing.assert_allclose(batch[0], state, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(batch_reward[0], reward, rtol=1e-12, atol=1e-15)


def test_swingup_step_uses_the_old_velocities_for_the_position_update():
    state = np.array([[0.2, 1.5, 0.3, -2.0]])
    next_state, _ = swingup_step(state, np.array([1.0]))
    assert next_state[0, 0] == 0.2 + 1.5 * 0.01
    assert next_state[0, 2] == 0.3 + -2.0 * 0.01


def test_swingup_step_pole_hanging_still_at_rest_stays_at_rest():
    state = np.array([[0.0, 0.0, math.pi, 0.0]])
    next_state, _ = swingup_step(state, np.array([0.0]))
    np.testing.assert_allclose(next_state, state, atol=1e-14)


def test_swingup_step_accepts_actions_of_shape_n_and_n_by_1_and_rejects_others():
    state = np.zeros((3, 4))
    a, _ = swingup_step(state, np.array([0.1, 0.2, 0.3]))
    b, _ = swingup_step(state, np.array([[0.1], [0.2], [0.3]]))
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="action"):
        swingup_step(state, np.zeros(2))
    with pytest.raises(ValueError, match="state"):
        swingup_step(np.zeros(4), np.zeros(1))


@pytest.mark.parametrize(
    "x, theta, expected",
    [
        (0.0, 0.0, 1.0),  # upright at the centre
        (0.0, math.pi, 0.0),  # hanging down
        (0.0, -math.pi, 0.0),
        (2.4, 0.0, 0.0),  # at the end of the track
        (-2.4, 0.0, 0.0),
        (1.2, 0.0, math.cos(math.pi / 4)),  # half way: cos(pi/4)
        (0.0, math.pi / 2, 0.5),  # horizontal pole
        (1.2, math.pi / 2, 0.5 * math.cos(math.pi / 4)),
        (0.0, 2 * math.pi, 1.0),  # a full turn is upright again
    ],
)
def test_swingup_reward_at_hand_picked_states(x, theta, expected):
    reward = swingup_reward(np.array([[x, 0.7, theta, -1.3]]))
    np.testing.assert_allclose(reward, [expected], rtol=1e-12, atol=1e-12)


def test_swingup_reward_is_slightly_negative_just_beyond_the_track():
    reward = swingup_reward(np.array([[2.45, 0.0, 0.0, 0.0], [-2.45, 0.0, 0.0, 0.0]]))
    assert np.all(reward < 0) and np.all(reward > -0.05)


def test_swingup_observation_is_x_xdot_cos_sin_thetadot_in_float32():
    state = np.array([[0.5, -1.0, 0.25, 2.0], [-2.0, 3.0, math.pi, -0.5]])
    obs = swingup_observation(state)
    assert obs.shape == (2, 5) and obs.dtype == np.float32
    expected = [[s[0], s[1], math.cos(s[2]), math.sin(s[2]), s[3]] for s in state]
    np.testing.assert_array_equal(obs, np.array(expected, dtype=np.float32))
    obs64 = swingup_observation(state, dtype=np.float64)
    np.testing.assert_allclose(obs64, expected, rtol=1e-15)


def test_swingup_out_of_bounds_is_strictly_beyond_the_threshold():
    state = np.zeros((4, 4))
    state[:, 0] = [2.4, -2.4, 2.4000001, -2.5]
    np.testing.assert_array_equal(swingup_out_of_bounds(state), [False, False, True, True])


# --------------------------------------------------------------------------------------------
# the environment


def test_env_passes_the_gymnasium_env_checker():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # A directly constructed env has no spec, so the checker says it cannot remake it in
        # other render modes; there are none (metadata["render_modes"] is empty).
        warnings.filterwarnings("ignore", message=".*not having a spec.*")
        check_env(CartPoleSwingUpEnv())


def test_env_made_by_gymnasium_passes_the_env_checker():
    env = gymnasium.make("CartPoleSwingUp-v0")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped)
        # check_env on the wrapped env warns only that it is wrapped (it checks the inner
        # env instead); that warning is about the checker, not about our environment.
        warnings.filterwarnings("ignore", message=".*different from the unwrapped version.*")
        check_env(env)


def test_env_spaces():
    env = CartPoleSwingUpEnv()
    assert env.action_space == gymnasium.spaces.Box(-1.0, 1.0, (1,), np.float32)
    assert env.observation_space.shape == (5,)
    assert env.observation_space.dtype == np.float32


def test_reset_is_reproducible_under_a_seed_and_differs_between_seeds():
    env = CartPoleSwingUpEnv()
    first, _ = env.reset(seed=123)
    env.step(np.array([0.5], dtype=np.float32))
    again, _ = env.reset(seed=123)
    other, _ = env.reset(seed=124)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert first.dtype == np.float32 and first.shape == (5,)


def test_reset_draws_what_swingup_initial_state_draws_from_default_rng():
    env = CartPoleSwingUpEnv()
    for seed in (0, 1, 42, 2**40):
        env.reset(seed=seed)
        expected = swingup_initial_state(np.random.default_rng(seed), 1)[0]
        np.testing.assert_array_equal(env.state, expected)


def test_unseeded_resets_continue_the_stream_like_one_batch_draw():
    env = CartPoleSwingUpEnv()
    env.reset(seed=7)
    rng = np.random.default_rng(7)
    rng.normal(size=4)  # what the seeded reset drew
    batch = swingup_initial_state(rng, 5)
    for row in batch:
        env.reset()
        np.testing.assert_array_equal(env.state, row)


def test_start_state_statistics_over_many_seeds():
    env = CartPoleSwingUpEnv()
    states = []
    for seed in range(2000):
        env.reset(seed=seed)
        states.append(env.state)
    states = np.array(states)
    # standard error of the mean 0.2 / sqrt(2000) = 0.0045; of the std about 0.0032
    np.testing.assert_allclose(states.mean(axis=0), [0, 0, math.pi, 0], atol=0.025)
    np.testing.assert_allclose(states.std(axis=0), [0.2] * 4, atol=0.02)


def test_reset_options_state_starts_from_the_given_state():
    env = CartPoleSwingUpEnv()
    obs, _ = env.reset(seed=0, options={"state": [0.1, 0.2, 0.3, 0.4]})
    np.testing.assert_array_equal(env.state, [0.1, 0.2, 0.3, 0.4])
    expected = np.array([0.1, 0.2, math.cos(0.3), math.sin(0.3), 0.4], dtype=np.float32)
    np.testing.assert_array_equal(obs, expected)


def test_step_before_reset_raises():
    with pytest.raises(RuntimeError, match="reset"):
        CartPoleSwingUpEnv().step(np.zeros(1, dtype=np.float32))


def test_episode_terminates_when_the_cart_leaves_the_track():
    env = CartPoleSwingUpEnv()
    env.reset(options={"state": [0.0, 0.0, math.pi, 0.0]})
    action = np.array([1.0], dtype=np.float32)
    steps = 0
    terminated = truncated = False
    while not (terminated or truncated):
        previous = env.state
        obs, reward, terminated, truncated, _ = env.step(action)
        steps += 1
    assert terminated and not truncated
    assert 1 < steps < 1000
    assert obs[0] > 2.4 and env.state[0] > 2.4
    assert previous[0] <= 2.4  # it ends on the first step beyond the track
    # the leaving step keeps the reward formula: slightly negative, no extra penalty
    assert reward == swingup_reward(env.state[None])[0] and -0.1 < reward < 0


def test_episode_is_truncated_at_exactly_the_thousandth_step():
    # From rest with the pole horizontal and no force the pole swings while the cart only
    # rocks about the centre of mass, so the episode can end only by truncation.
    env = CartPoleSwingUpEnv()
    env.reset(options={"state": [0.0, 0.0, math.pi / 2, 0.0]})
    action = np.array([0.0], dtype=np.float32)
    thetas = []
    for step in range(1, 1001):
        _, _, terminated, truncated, _ = env.step(action)
        thetas.append(env.state[2])
        assert not terminated
        assert truncated == (step == 1000)
    assert abs(env.state[0]) < 0.5
    assert min(thetas) < 2.0 and max(thetas) > 4.0  # it really swings


def test_gymnasium_make_episode_ends_once_at_step_1000():
    env = make_env("CartPoleSwingUp")
    env.reset(seed=5)
    ends = []
    for step in range(1, 1001):
        _, _, terminated, truncated, _ = env.step(np.array([0.0], dtype=np.float32))
        if terminated or truncated:
            ends.append((step, terminated, truncated))
    assert ends == [(1000, False, True)]


def test_env_step_and_vectorised_step_agree_bit_for_bit_over_200_steps():
    rng = np.random.default_rng(11)
    actions = rng.uniform(-1.5, 1.5, size=(200, 8)).astype(np.float32)
    env = CartPoleSwingUpEnv()
    obs, _ = env.reset(seed=99)
    # episode 0 of the batch is the env's episode; the others only make the batch wider
    batch = np.concatenate([env.state[None], swingup_initial_state(rng, 7)])
    np.testing.assert_array_equal(swingup_observation(batch)[0], obs)
    for t in range(200):
        obs, reward, terminated, truncated, _ = env.step(actions[t, :1])
        batch, batch_reward = swingup_step(batch, actions[t])
        np.testing.assert_array_equal(env.state, batch[0])
        assert reward == batch_reward[0]
        np.testing.assert_array_equal(obs, swingup_observation(batch)[0])
        assert terminated == swingup_out_of_bounds(batch)[0]
        assert not truncated


# --------------------------------------------------------------------------------------------
# registration and make_env


def test_importing_the_package_twice_registers_once():
    import importlib

    import evolearn.envs

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # gymnasium warns when an id is overridden
        importlib.reload(evolearn.envs)
    assert gymnasium.registry["CartPoleSwingUp-v0"].max_episode_steps is None


def test_a_plain_import_evolearn_registers_cartpole_swingup_in_a_fresh_interpreter():
    import subprocess
    import sys

    code = (
        "import gymnasium, evolearn\n"
        "env = gymnasium.make('CartPoleSwingUp-v0')\n"
        "obs, _ = env.reset(seed=0)\n"
        "print(type(env.unwrapped).__module__, obs.shape)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["evolearn.envs.cartpole_swingup", "(5,)"]


@pytest.mark.parametrize("name", ["CartPoleSwingUp", "CartPoleSwingUp-v0"])
def test_make_env_makes_cartpole_swingup(name):
    env = make_env(name)
    assert isinstance(env.unwrapped, CartPoleSwingUpEnv)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (5,)


# Box2D's SWIG bindings warn about themselves when imported; nothing to do with this code.
@pytest.mark.filterwarnings("ignore:builtin type .* has no __module__:DeprecationWarning")
@pytest.mark.parametrize("name", ["CartPole-v1", "BipedalWalker-v3"])
def test_make_env_makes_gymnasium_environments(name):
    env = make_env(name)
    assert env.spec.id == name
    env.reset(seed=0)
    env.step(env.action_space.sample())
    env.close()


def test_make_env_passes_keyword_arguments_to_the_environment():
    env = make_env("CartPoleSwingUp", max_steps=3)
    env.reset(seed=0)
    truncated = [env.step(np.zeros(1, dtype=np.float32))[3] for _ in range(3)]
    assert truncated == [False, False, True]


def test_env_exists():
    assert env_exists("CartPoleSwingUp")
    assert env_exists("CartPoleSwingUp-v0")
    assert env_exists("CartPole-v1")
    assert not env_exists("NoSuchEnv-v0")
    assert not env_exists("CartPole")  # the version is required
    assert not env_exists("no_such_module:Foo-v0")


def test_make_env_unknown_name_raises_param_error_naming_env_name():
    with pytest.raises(ParamError) as info:
        make_env("NoSuchEnv-v0")
    message = str(info.value)
    assert "env_name" in message and "'NoSuchEnv-v0'" in message
    assert "CartPole-v1" in message and "CartPoleSwingUp" in message
    assert isinstance(info.value, UserError) and info.value.exit_code == 2


def test_make_env_old_bipedalwalker_version_suggests_v3():
    with pytest.raises(ParamError, match="BipedalWalker-v2") as info:
        make_env("BipedalWalker-v2")
    assert "no longer exists" in str(info.value)
    assert "'BipedalWalker-v3'" in str(info.value)


@pytest.mark.parametrize(
    "name, suggestion",
    [
        ("CartPoleSwingup", "'CartPoleSwingUp'"),
        ("cartpole-v1", "'CartPole-v1'"),
        ("CartPole", "'CartPole-v1'"),
        ("CartPole-v9", "'CartPole-v1'"),
    ],
)
def test_make_env_misspelled_name_suggests_the_valid_one(name, suggestion):
    with pytest.raises(ParamError, match="env_name") as info:
        make_env(name)
    assert suggestion in str(info.value)
