"""Harlow-v0: the two-object discrimination task of Harlow (1949), as the Neuromatch NeuroAI
tutorial (W2D4, Tutorial 4) sets it up.

A *problem* is an ordered pair of distinct objects out of ten (the ids 0..9): the first is
rewarded, the second punished. ``reset`` draws a new problem; every trial shows both objects,
the sides drawn again for each trial (left/right with probability 1/2 each, independently), and
``step(action)`` (0 = left, 1 = right) gives +1 when the chosen side holds the rewarded object
and -1 otherwise. The observation is the pair's two ids, left first. A problem never ends by
itself: the learner decides how many trials it gets (``terminated`` and ``truncated`` are
always False). All randomness comes from Gymnasium's ``np_random`` (``reset(seed=...)``).

The draws, in their order, so that a vectorised copy (:class:`HarlowProblems`) gives the same
trials from the same seed: ``reset`` takes ``np_random.choice(10, 2, replace=False)`` for the
(rewarded, punished) pair, then one ``np_random.random()`` for the first trial's sides; each
``step`` takes one more for the next trial's (below 0.5: the rewarded object on the left).
"""

from __future__ import annotations

import gymnasium
import numpy as np
from gymnasium import spaces

NUM_OBJECTS = 10
REWARD = 1.0
PUNISHMENT = -1.0


def sides(rewarded, punished, draw) -> np.ndarray:
    """``[..., 2]`` the (left, right) ids for side draws ``draw`` (below 0.5: rewarded left)."""
    left = np.asarray(draw) < 0.5
    return np.stack(
        [np.where(left, rewarded, punished), np.where(left, punished, rewarded)], axis=-1
    )


class HarlowEnv(gymnasium.Env):
    """One learner on one problem at a time (see the module's text)."""

    metadata = {"render_modes": []}

    def __init__(self, num_objects: int = NUM_OBJECTS):
        if num_objects < 2:
            raise ValueError(f"num_objects must be at least 2, not {num_objects}")
        self.num_objects = num_objects
        self.observation_space = spaces.MultiDiscrete([num_objects, num_objects])
        self.action_space = spaces.Discrete(2)
        self.rewarded = self.punished = -1
        self.state = np.array([-1, -1], dtype=np.int64)

    def _draw_sides(self) -> None:
        self.state = sides(self.rewarded, self.punished, self.np_random.random()).astype(np.int64)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        pair = self.np_random.choice(self.num_objects, 2, replace=False)
        self.rewarded, self.punished = int(pair[0]), int(pair[1])
        self._draw_sides()
        return self.state.copy(), {"rewarded": self.rewarded}

    def step(self, action):
        if self.rewarded < 0:
            raise RuntimeError("call reset() before step()")
        action = int(action)
        if action not in (0, 1):
            raise ValueError(f"action must be 0 (left) or 1 (right), not {action}")
        correct = bool(self.state[action] == self.rewarded)
        self._draw_sides()
        reward = REWARD if correct else PUNISHMENT
        return self.state.copy(), reward, False, False, {"correct": correct}


class HarlowProblems:
    """Many learners, each on its own problem, stepped together: lane ``l`` draws exactly what
    a :class:`HarlowEnv` reset with ``seeds[l]`` draws, for ``trials`` steps (all side draws
    are made at once)."""

    def __init__(self, seeds, trials: int, num_objects: int = NUM_OBJECTS):
        rewarded, punished, draws = [], [], []
        for seed in seeds:
            rng, _ = gymnasium.utils.seeding.np_random(int(seed))
            pair = rng.choice(num_objects, 2, replace=False)
            rewarded.append(pair[0])
            punished.append(pair[1])
            draws.append(rng.random(trials + 1))
        self.rewarded = np.array(rewarded, dtype=np.int64)
        self.punished = np.array(punished, dtype=np.int64)
        #: ``[lanes, trials + 1, 2]``: the pair each lane sees at each trial (and after the last)
        self.states = sides(self.rewarded[:, None], self.punished[:, None], np.array(draws))
        self.trial = 0

    def observation(self) -> np.ndarray:
        """``[lanes, 2]``: the pair of the current trial, left first."""
        return self.states[:, self.trial]

    def step(self, actions: np.ndarray) -> np.ndarray:
        """``[lanes]`` actions -> ``[lanes]`` rewards (+1 / -1); the next trial's pair is then
        the observation."""
        chosen = np.take_along_axis(self.observation(), np.asarray(actions)[:, None], 1)[:, 0]
        self.trial += 1
        return np.where(chosen == self.rewarded, REWARD, PUNISHMENT)
