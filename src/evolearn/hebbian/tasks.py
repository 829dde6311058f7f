"""What differs between the environments of run-hebbian-gym.py, written out per task instead of
keyed on id strings inside the loop (the original's ``'CarRacing-v0'`` and ``[-12:-6] ==
'Bullet'`` tests silently fall through for today's ids): what the network sees, how its
outputs become actions, what an episode scores and when it stops early.

Inputs:
- a flat Box (a state vector): as it is, no normalisation;
- a Discrete observation: one-hot, as the original;
- an image (a Box ``[H, W, 3]``, CarRacing): resized to 84x84, scaled to [0, 1], through the
  two static convolution layers of :mod:`evolearn.hebbian.pixels`.

Actions (the Hebbian update sees the network's raw outputs, except for the ant):
- Discrete: the argmax of the outputs (the first on ties).
- CarRacing: steering ``tanh(o0)``, gas ``sigmoid(o1)``, brake ``sigmoid(o2)``.
- Other continuous actions: ``action_bounds: tanh`` (the default) maps each output through tanh
  onto its bounds, ``low + (tanh(o) + 1) / 2 * (high - low)``, as the original's README
  recommends; ``clip`` clips the raw output to the bounds, as the original's code does.
- The ant (Gymnasium's MuJoCo ``Ant-v5``, for the paper's pyBullet ant): the output layer is
  tanh, and its activity is both the action and what the rule sees, as the original does for
  its Bullet environments.

Episodes:
- every task ends at termination or truncation (the time limit of its registration);
- CarRacing also after more than 20 consecutive steps with a negative reward;
- the ant as the original's Bullet ant: 40 steps of zero action first (it settles on the
  floor; they count for nothing), the reward of a step is the distance it walked along +x
  (``x_velocity * dt``), a fall (the torso leaves Gymnasium's healthy height) ends the
  episode only after step 200, and so do more than 30 consecutive steps of negative
  progress (counted after step 200). Its observation leaves out the contact forces (27
  numbers, near the Bullet ant's 28).
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium
import numpy as np

from evolearn.envs import make_env, resolve_env_id
from evolearn.envs.ant import MORPHOLOGIES, make_ant
from evolearn.hebbian import pixels

ACTION_BOUNDS = ("tanh", "clip")
#: CarRacing stops after more than this many consecutive negative rewards.
CAR_RACING_PATIENCE = 20
#: The ant: zero-action steps before an episode, the steps in which a fall does not end it,
#: and the consecutive steps of negative progress after them that end it.
ANT_BURN_IN = 40
ANT_GRACE_STEPS = 200
ANT_PATIENCE = 30
#: How the ant is made (Gymnasium's own termination is replaced by the rule above).
ANT_KWARGS = {"include_cfrc_ext_in_observation": False, "terminate_when_unhealthy": False}
INPUT_KINDS = ("vector", "one_hot", "pixels")


def is_car_racing(env_id: str) -> bool:
    return resolve_env_id(env_id).split(":")[-1].startswith("CarRacing-")


def is_ant(env_id: str) -> bool:
    return resolve_env_id(env_id).split(":")[-1].startswith("Ant-")


@dataclass(frozen=True)
class ActionMap:
    """Outputs ``[population, n_out]`` -> the actions of each network's environment."""

    kind: str  # "argmax", "car_racing", "tanh" or "clip"
    low: np.ndarray | None = None
    high: np.ndarray | None = None

    def __call__(self, outputs: np.ndarray) -> list:
        if self.kind == "argmax":
            return [int(a) for a in np.argmax(outputs, axis=1)]
        outputs = np.asarray(outputs, dtype=np.float64)
        if self.kind == "car_racing":
            actions = np.empty_like(outputs)
            actions[:, 0] = np.tanh(outputs[:, 0])
            actions[:, 1:] = 1.0 / (1.0 + np.exp(-outputs[:, 1:]))
        elif self.kind == "tanh":
            actions = self.low + (np.tanh(outputs) + 1.0) / 2.0 * (self.high - self.low)
        else:
            actions = np.clip(outputs, self.low, self.high)
        return list(actions.astype(np.float32))


def action_map(env_id: str, space: gymnasium.Space, bounds: str = "tanh") -> ActionMap:
    """The :class:`ActionMap` of an environment's action space.

    Raises:
        ValueError: the space is neither Discrete nor a bounded Box (the message says which).
    """
    if isinstance(space, gymnasium.spaces.Discrete):
        return ActionMap("argmax")
    if not isinstance(space, gymnasium.spaces.Box) or len(space.shape) != 1:
        raise ValueError(
            f"the actions of {env_id} are {space}: the network gives a vector of numbers, "
            f"for a Discrete space or a one-dimensional Box"
        )
    if is_car_racing(env_id):
        return ActionMap("car_racing")
    low, high = space.low.astype(np.float64), space.high.astype(np.float64)
    if is_ant(env_id):  # the outputs are tanh already: within the bounds [-1, 1]
        return ActionMap("clip", low, high)
    if bounds == "tanh" and not (np.isfinite(low).all() and np.isfinite(high).all()):
        raise ValueError(
            f"the actions of {env_id} are unbounded ({space}): action_bounds 'tanh' needs "
            f"bounds; choose action_bounds 'clip'"
        )
    return ActionMap(bounds, low, high)


def input_kind(env_id: str, space: gymnasium.Space) -> tuple[str, int]:
    """(kind, the number of inputs of the plastic layers) for an observation space.

    Raises:
        ValueError: a space the network cannot take (the message says which it takes).
    """
    if isinstance(space, gymnasium.spaces.Discrete):
        return "one_hot", int(space.n)
    if isinstance(space, gymnasium.spaces.Box):
        if len(space.shape) == 1:
            return "vector", int(space.shape[0])
        if len(space.shape) == 3 and space.shape[2] == 3:
            return "pixels", pixels.feature_count()
    raise ValueError(
        f"the observations of {env_id} are {space}: the network takes a flat Box (a state "
        f"vector), a Discrete observation (one-hot) or an RGB image Box [height, width, 3]"
    )


@dataclass(frozen=True)
class Task:
    """One environment as run-hebbian-gym.py runs it (see the module's description)."""

    env_name: str
    inputs: str  # one of INPUT_KINDS
    num_inputs: int  # of the plastic layers: the observation's size, or the pixel front's
    num_outputs: int
    actions: ActionMap
    morphology: str = "standard"  # the ant's body (evolearn.envs.ant)

    @property
    def ant(self) -> bool:
        return is_ant(self.env_name)

    @property
    def output_tanh(self) -> bool:
        """Whether the output layer is tanh (the ant), not linear."""
        return self.ant

    @property
    def burn_in(self) -> int:
        return ANT_BURN_IN if self.ant else 0

    def with_morphology(self, morphology: str) -> Task:
        return Task(
            self.env_name, self.inputs, self.num_inputs, self.num_outputs, self.actions, morphology
        )

    def make(self) -> gymnasium.Env:
        if self.ant:
            return make_ant(resolve_env_id(self.env_name), self.morphology, **ANT_KWARGS)
        return make_env(self.env_name)

    def observe(self, observation, dtype) -> np.ndarray:
        """An observation as the network takes it: ``[num_inputs]``, or a frame ``[3, 84, 84]``."""
        if self.inputs == "one_hot":
            return (np.arange(self.num_inputs) == int(observation)).astype(dtype)
        if self.inputs == "pixels":
            return pixels.frame(observation).astype(dtype, copy=False)
        return np.asarray(observation, dtype=dtype).ravel()

    def reset(self, env: gymnasium.Env, seed: int):
        """The episode's first observation: ``env.reset(seed=seed)``, then the burn-in."""
        observation, _ = env.reset(seed=seed)
        if self.burn_in:
            zero = np.zeros(env.action_space.shape, dtype=env.action_space.dtype)
            for _ in range(self.burn_in):
                observation, *_ = env.step(zero)
        return observation

    def step(self, env: gymnasium.Env, action) -> tuple[object, float, bool, bool]:
        """``env.step``: (observation, the task's reward, terminated, truncated); for the ant
        the reward is the step's progress along +x and "terminated" that it has fallen."""
        observation, reward, terminated, truncated, info = env.step(action)
        if self.ant:
            reward = float(info["x_velocity"]) * env.unwrapped.dt
            terminated = not env.unwrapped.is_healthy
        return observation, float(reward), bool(terminated), bool(truncated)


def make_task(env_name: str, action_bounds: str = "tanh", morphology: str = "standard") -> Task:
    """The :class:`Task` of an environment (made once to read its spaces).

    Raises:
        ValueError: the spaces do not fit a network, or a morphology for an environment that
            is not the ant (each message says which).
        gymnasium.error.DependencyNotInstalled: the environment needs a missing package.
    """
    if morphology != "standard" and not is_ant(env_name):
        raise ValueError(f"{env_name} has one body: morphologies are for the ant (Ant-v5)")
    if morphology not in MORPHOLOGIES:
        raise ValueError(
            f"unknown morphology {morphology!r} (choose from {', '.join(MORPHOLOGIES)})"
        )
    probe = Task(env_name, "vector", 0, 0, ActionMap("argmax"), morphology)
    env = probe.make()
    try:
        obs, act = env.observation_space, env.action_space
    finally:
        env.close()
    kind, num_inputs = input_kind(env_name, obs)
    actions = action_map(env_name, act, action_bounds)
    num_outputs = int(act.n) if isinstance(act, gymnasium.spaces.Discrete) else act.shape[0]
    return Task(env_name, kind, num_inputs, num_outputs, actions, morphology)


class EarlyStop:
    """Which episodes end after a step (see the module's description)."""

    def __init__(self, task: Task, population: int):
        self.ant = task.ant
        self.patience = CAR_RACING_PATIENCE if is_car_racing(task.env_name) else None
        if self.ant:
            self.patience = ANT_PATIENCE
        self.negative = np.zeros(population, dtype=np.int64)
        self.steps = np.zeros(population, dtype=np.int64)  # steps before this one

    def __call__(self, index: int, reward: float, terminated: bool, truncated: bool) -> bool:
        if truncated:
            return True
        if self.ant:
            before = self.steps[index]  # the original's t
            self.steps[index] += 1
            if before <= ANT_GRACE_STEPS:
                return False
        if self.patience is not None:
            self.negative[index] = self.negative[index] + 1 if reward < 0 else 0
            if self.negative[index] > self.patience:
                return True
        return bool(terminated)
