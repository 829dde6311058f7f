"""Newbie against experienced: the tutorial's comparison of an evolved learner with newborn
agents, each learning the same new problems for one lifetime.

The experienced agent learns each problem from its own weights and hyperparameters (one lane
per problem, each from the same start: what a Baldwinian individual does, and for a Lamarckian
champion from the weights it passed on). The newbie of problem ``p`` is a newborn drawn from the
stream (seed, 0, NEWBIE, p) (PyTorch's default initialisation) with the tutorial's initial
hyperparameters. On problem ``p`` both take their action draws from the stream (seed, 0,
ACTIONS, p): the same random numbers, so that the comparison's difference is the learners'.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evolearn import streams
from evolearn.envs.harlow import HarlowProblems
from evolearn.harlow.agent import (
    INITIAL_HYPERPARAMETERS,
    Lifetime,
    initial_parameters,
    parameter_count,
    unflatten,
)
from evolearn.harlow.lifetime import learn


@dataclass(frozen=True)
class Outcome:
    """One kind of learner on the problems: ``scores [problems]`` (each the evaluation's sum
    of +1 / -1) and ``correct [problems, evaluation_trials]``."""

    scores: np.ndarray
    correct: np.ndarray

    @property
    def trial_accuracy(self) -> np.ndarray:
        """``[evaluation_trials]``: the share of the problems answered right at each trial."""
        return self.correct.mean(axis=0)


def newborns(hidden: int, count: int, seed: int) -> dict[str, np.ndarray]:
    """The newbies of the problems ``0 .. count-1``, stacked ``[count, ...]``."""
    members = [
        initial_parameters(hidden, streams.stream(seed, 0, streams.NEWBIE, p)) for p in range(count)
    ]
    return {k: np.stack([m[k] for m in members]) for k in members[0]}


def newbie_and_experienced(
    genome: np.ndarray, hidden: int, lifetime: Lifetime, problem_seeds, seed: int
) -> tuple[Outcome, Outcome]:
    """``(newbie, experienced)`` on the problems of ``problem_seeds``; ``genome`` is the
    champion's vector (the parameters, then the four hyperparameters)."""
    seeds = list(problem_seeds)
    n, size = len(seeds), parameter_count(hidden)
    draws = np.stack(
        [streams.stream(seed, 0, streams.ACTIONS, p).random(lifetime.draws) for p in range(n)]
    )
    mine = {k: np.repeat(v[None], n, axis=0) for k, v in unflatten(genome[:size], hidden).items()}
    hyper = np.tile(np.asarray(genome[size:], dtype=np.float64), (n, 1))
    experienced = learn(mine, hyper, HarlowProblems(seeds, lifetime.draws), draws, lifetime)
    initial = np.tile(np.array(INITIAL_HYPERPARAMETERS), (n, 1))
    newbie = learn(
        newborns(hidden, n, seed), initial, HarlowProblems(seeds, lifetime.draws), draws, lifetime
    )
    return (
        Outcome(newbie.scores, newbie.correct),
        Outcome(experienced.scores, experienced.correct),
    )
