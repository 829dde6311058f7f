"""CartPoleSwingUp: swing a pole up from hanging down and balance it on a cart.

The task of the Weight Agnostic Neural Networks paper (A. Gaier and D. Ha, NeurIPS 2019),
written from the equations of the specification (SPEC section 6), not from any other code.

State ``(x, x_dot, theta, theta_dot)``, float64. ``theta = 0`` is the pole upright, ``theta =
pi`` hanging down; ``x`` is the cart position, the track ends at ``|x| = X_THRESHOLD``.

One step, with ``s = sin(theta)``, ``c = cos(theta)``, ``F = FORCE_MAG * clip(action, -1, 1)``,
``b = FRICTION``, ``M = CART_MASS + POLE_MASS``, ``m = POLE_MASS``, ``l = POLE_LENGTH``::

    x_acc  = (-2 m l thdot^2 s + 3 m g s c + 4 F - 4 b xdot) / (4 M - 3 m c^2)
    th_acc = (-3 m l thdot^2 s c + 6 M g s + 6 (F - b xdot) c) / (4 l M - 3 m l c^2)
    x     += xdot * dt;       theta += thdot * dt        (Euler, with the old velocities)
    xdot  += x_acc * dt;      thdot += th_acc * dt

Reward (maximised) of a step, computed from the state *after* the update::

    (cos(theta) + 1) / 2 * cos(x / X_THRESHOLD * pi / 2)

1 with the pole upright at the centre, 0 hanging down or at the ends of the track. The step
that leaves the track (``|x| > X_THRESHOLD``, terminated) keeps this formula, so its reward is
slightly negative (the cosine of an angle just beyond pi/2); there is no extra penalty.

The pure, vectorised functions :func:`swingup_initial_state`, :func:`swingup_step`,
:func:`swingup_observation` and :func:`swingup_out_of_bounds` step many episodes at once;
:class:`CartPoleSwingUpEnv` calls the same functions on one row, so both paths give
bit-identical numbers.
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces

GRAVITY = 9.82
CART_MASS = 0.5
POLE_MASS = 0.5
POLE_LENGTH = 0.6
FORCE_MAG = 10.0
FRICTION = 0.1
DT = 0.01
MAX_STEPS = 1000
X_THRESHOLD = 2.4

INITIAL_MEAN = (0.0, 0.0, np.pi, 0.0)
"""Mean of the start state ``(x, x_dot, theta, theta_dot)``: at rest, pole hanging down."""
INITIAL_STD = 0.2
"""Standard deviation of every component of the start state."""


def swingup_initial_state(rng: np.random.Generator, n: int) -> np.ndarray:
    """Draw ``n`` start states, ``[n, 4]`` float64, from ``N(INITIAL_MEAN, INITIAL_STD)``.

    This is exactly what :meth:`CartPoleSwingUpEnv.reset` draws: one call
    ``rng.normal(INITIAL_MEAN, INITIAL_STD, size=(n, 4))``, row after row. Hence

    - ``env.reset(seed=s)`` starts in ``swingup_initial_state(np.random.default_rng(s), 1)[0]``
      (gymnasium seeds ``env.np_random`` as ``default_rng(s)`` does), and
    - ``k`` further ``env.reset()`` calls without a seed start in the rows of
      ``swingup_initial_state(rng, k)`` for a generator ``rng`` in the same state as
      ``env.np_random``.
    """
    return rng.normal(loc=INITIAL_MEAN, scale=INITIAL_STD, size=(n, 4))


def swingup_step(state: np.ndarray, action: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Advance ``N`` episodes by one time step.

    Args:
        state: ``[N, 4]`` rows ``(x, x_dot, theta, theta_dot)``.
        action: ``[N]`` (or ``[N, 1]``) forces in units of ``FORCE_MAG``; clipped to [-1, 1].
            Computed in float64; the environment's actions are float32, so pass the same
            float32 values to reproduce an environment's episode exactly.

    Returns:
        ``(next_state [N, 4], reward [N])``, float64; the reward (maximised) is that of the
        next state. Whether an episode ended is the caller's business: see
        :func:`swingup_out_of_bounds` and ``MAX_STEPS``.
    """
    state = np.asarray(state, dtype=np.float64)
    if state.ndim != 2 or state.shape[1] != 4:
        raise ValueError(f"state must have shape [N, 4], got {state.shape}")
    n = state.shape[0]
    action = np.asarray(action, dtype=np.float64)
    if action.size != n or action.ndim > 2:
        raise ValueError(f"action must have shape [{n}] or [{n}, 1], got {action.shape}")
    force = FORCE_MAG * np.clip(action.reshape(n), -1.0, 1.0)

    # Contiguous copies: numpy may take a different (SIMD or scalar) sin/cos for strided
    # input, and the batch and the single-episode paths must agree bit for bit.
    x, x_dot, theta, theta_dot = (np.ascontiguousarray(state[:, i]) for i in range(4))
    s = np.sin(theta)
    c = np.cos(theta)
    total_mass = CART_MASS + POLE_MASS
    x_acc = (
        -2.0 * POLE_MASS * POLE_LENGTH * theta_dot**2 * s
        + 3.0 * POLE_MASS * GRAVITY * s * c
        + 4.0 * force
        - 4.0 * FRICTION * x_dot
    ) / (4.0 * total_mass - 3.0 * POLE_MASS * c**2)
    theta_acc = (
        -3.0 * POLE_MASS * POLE_LENGTH * theta_dot**2 * s * c
        + 6.0 * total_mass * GRAVITY * s
        + 6.0 * (force - FRICTION * x_dot) * c
    ) / (4.0 * POLE_LENGTH * total_mass - 3.0 * POLE_MASS * POLE_LENGTH * c**2)

    next_state = np.empty_like(state)
    next_state[:, 0] = x + x_dot * DT
    next_state[:, 1] = x_dot + x_acc * DT
    next_state[:, 2] = theta + theta_dot * DT
    next_state[:, 3] = theta_dot + theta_acc * DT
    return next_state, swingup_reward(next_state)


def swingup_reward(state: np.ndarray) -> np.ndarray:
    """Reward (maximised) of being in ``state`` ``[N, 4]``: ``[N]`` float64 in [-1, 1].

    ``(cos(theta) + 1) / 2 * cos(x / X_THRESHOLD * pi / 2)``.
    """
    state = np.asarray(state, dtype=np.float64)
    x = np.ascontiguousarray(state[:, 0])
    theta = np.ascontiguousarray(state[:, 2])
    return (np.cos(theta) + 1.0) / 2.0 * np.cos(x / X_THRESHOLD * (np.pi / 2.0))


def swingup_out_of_bounds(state: np.ndarray) -> np.ndarray:
    """``[N]`` bool: the cart has left the track (``|x| > X_THRESHOLD``), the episode ends."""
    return np.abs(np.asarray(state)[:, 0]) > X_THRESHOLD


def swingup_observation(state: np.ndarray, dtype: Any = np.float32) -> np.ndarray:
    """Observations ``[N, 5]`` rows ``(x, x_dot, cos(theta), sin(theta), theta_dot)``.

    ``dtype`` float32 (the default) gives exactly the environment's observations.
    """
    state = np.asarray(state, dtype=np.float64)
    theta = np.ascontiguousarray(state[:, 2])
    obs = np.stack([state[:, 0], state[:, 1], np.cos(theta), np.sin(theta), state[:, 3]], axis=1)
    return obs.astype(dtype, copy=False)


class CartPoleSwingUpEnv(gymnasium.Env):
    """Gymnasium environment of the swing-up task (see the module docstring for the physics).

    - observation: float32 ``[x, x_dot, cos(theta), sin(theta), theta_dot]``;
    - action: float32 ``[1]``, the force in units of ``FORCE_MAG``, clipped to [-1, 1];
    - reward: of the state after the step, maximised, at most 1 per step;
    - terminated: the cart left the track, ``|x| > X_THRESHOLD`` after the step;
    - truncated: the step was the ``max_steps``-th of the episode (default 1000). The
      environment truncates itself, so it is registered without a ``TimeLimit`` wrapper.

    ``reset(seed=s)`` draws the start state from ``self.np_random`` with
    :func:`swingup_initial_state`; ``reset(options={"state": (x, x_dot, theta, theta_dot)})``
    starts from the given state instead and draws nothing.
    """

    metadata = {"render_modes": [], "render_fps": 100}

    def __init__(self, render_mode: str | None = None, max_steps: int = MAX_STEPS) -> None:
        if render_mode is not None:
            raise ValueError(f"CartPoleSwingUpEnv renders nothing; render_mode={render_mode!r}")
        if max_steps < 1:
            raise ValueError(f"max_steps must be at least 1, got {max_steps}")
        self.render_mode = render_mode
        self.max_steps = int(max_steps)
        # Position and velocities have no physical bound; the largest float32 (as Gymnasium's
        # CartPole uses) rather than infinity, which the Gymnasium env checker warns about.
        big = np.finfo(np.float32).max
        high = np.array([big, big, 1.0, 1.0, big], dtype=np.float32)
        self.observation_space = spaces.Box(low=-high, high=high, dtype=np.float32)
        self.action_space = spaces.Box(low=-1.0, high=1.0, shape=(1,), dtype=np.float32)
        self._state: np.ndarray | None = None  # [1, 4] float64
        self._steps = 0

    @property
    def state(self) -> np.ndarray:
        """A copy of the current state ``(x, x_dot, theta, theta_dot)``, float64 ``[4]``."""
        if self._state is None:
            raise RuntimeError("call reset() before reading the state")
        return self._state[0].copy()

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        if options and options.get("state") is not None:
            state = np.array(options["state"], dtype=np.float64).reshape(1, 4)
        else:
            state = swingup_initial_state(self.np_random, 1)
        self._state = state
        self._steps = 0
        return swingup_observation(self._state)[0], {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._state is None:
            raise RuntimeError("call reset() before step()")
        self._state, reward = swingup_step(self._state, np.asarray(action).reshape(1))
        self._steps += 1
        terminated = bool(swingup_out_of_bounds(self._state)[0])
        truncated = self._steps >= self.max_steps
        obs = swingup_observation(self._state)[0]
        return obs, float(reward[0]), terminated, truncated, {}
