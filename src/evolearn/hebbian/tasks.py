"""What differs between the environments of run-hebbian-gym.py, written out per task instead of
keyed on id strings inside the loop (the original's ``'CarRacing-v0'`` and ``[-12:-6] ==
'Bullet'`` tests silently fall through for today's ids): how outputs become actions, and when
an episode stops early.

- Discrete actions: the argmax of the outputs (the first on ties).
- CarRacing: steering ``tanh(o0)``, gas ``sigmoid(o1)``, brake ``sigmoid(o2)``.
- Other continuous actions: ``action_bounds: tanh`` (the default) maps each output through tanh
  onto its bounds, ``low + (tanh(o) + 1) / 2 * (high - low)``, as the original's README
  recommends; ``clip`` clips the raw output to the bounds, as the original's code does.
- Early stops: CarRacing after more than 20 consecutive steps with a negative reward, as the
  original; every task at termination or truncation (the time limit of its registration).

The Hebbian update always sees the network's raw outputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium
import numpy as np

ACTION_BOUNDS = ("tanh", "clip")
#: CarRacing stops after more than this many consecutive negative rewards.
CAR_RACING_PATIENCE = 20


def is_car_racing(env_id: str) -> bool:
    return env_id.split(":")[-1].startswith("CarRacing-")


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
    if bounds == "tanh" and not (np.isfinite(low).all() and np.isfinite(high).all()):
        raise ValueError(
            f"the actions of {env_id} are unbounded ({space}): action_bounds 'tanh' needs "
            f"bounds; choose action_bounds 'clip'"
        )
    return ActionMap(bounds, low, high)


class EarlyStop:
    """Which episodes end after a step: at termination or truncation, and CarRacing's after
    more than :data:`CAR_RACING_PATIENCE` negative rewards in a row."""

    def __init__(self, env_id: str, population: int):
        self.patience = CAR_RACING_PATIENCE if is_car_racing(env_id) else None
        self.negative = np.zeros(population, dtype=np.int64)

    def __call__(self, index: int, reward: float, terminated: bool, truncated: bool) -> bool:
        if self.patience is not None:
            self.negative[index] = self.negative[index] + 1 if reward < 0 else 0
            if self.negative[index] > self.patience:
                return True
        return bool(terminated or truncated)
