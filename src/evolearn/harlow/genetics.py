"""The tutorial's genetic algorithm over learners, as pure arrays (no I/O; the random
generator is passed in).

A steady-state GA: each generation the top ``tournament_size`` members by their stored score
(ties in population order), ``num_parents`` parents drawn from them with replacement, then
``num_children`` children, each from two parents drawn from those with replacement (a parent
may pair with itself); ``num_children`` random members leave the population and the children
join it at its end. Scores are never measured again.

A child (:func:`make_child`): each gene (layer, :data:`~evolearn.harlow.agent.GENES`) from
either parent with probability 1/2, Gaussian noise of ``parameter_noise`` on every weight and
bias; each hyperparameter from either parent with probability 1/2, plus its own Gaussian noise,
clipped to its own range. Two of the course's bugs are not copied: it clips beta_v and beta_e
with gamma's value, and its in-place noise also changes the second parent, which stays in the
population. Here every hyperparameter is clipped to its own range, and a child is built from new
arrays, so that it never shares memory with a parent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evolearn.harlow.agent import GENES, HYPERPARAMETERS


@dataclass(frozen=True)
class Mutation:
    """Noise of the weights and of each hyperparameter, and each hyperparameter's range."""

    parameter_noise: float = 0.02
    noise: tuple[float, ...] = (0.00005, 0.01, 0.05, 0.001)
    low: tuple[float, ...] = (1e-4, 0.6, 0.1, 1e-4)
    high: tuple[float, ...] = (1e-2, 0.99, 0.7, 0.05)

    def __post_init__(self):
        for name, lo, hi in zip(HYPERPARAMETERS, self.low, self.high, strict=True):
            if not lo < hi:
                raise ValueError(f"the range of {name} is empty or reversed: [{lo}, {hi}]")


@dataclass
class Population:
    """The members: ``params`` each ``[members, ...]`` (float32), ``hyper [members, 4]`` and
    their stored ``scores [members]``."""

    params: dict[str, np.ndarray]
    hyper: np.ndarray
    scores: np.ndarray

    def __len__(self) -> int:
        return len(self.scores)

    def member(self, i: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
        return {k: v[i] for k, v in self.params.items()}, self.hyper[i]

    def top(self, k: int) -> np.ndarray:
        """The indices of the ``k`` best stored scores, best first (ties in member order)."""
        return np.argsort(-self.scores, kind="stable")[:k]


def stack(members: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.stack([m[k] for m in members]) for k in members[0]}


def make_child(
    first: tuple[dict, np.ndarray],
    second: tuple[dict, np.ndarray],
    mutation: Mutation,
    rng: np.random.Generator,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """A child of two (params, hyper) parents: the draws in this order, per gene (in
    :data:`GENES` order) whether it comes from the second parent, the noise of every parameter
    (in PyTorch's order), then per hyperparameter whether it comes from the second parent and
    its noise."""
    params = {}
    for names in GENES.values():
        source = second[0] if rng.random() < 0.5 else first[0]
        for name in names:
            params[name] = source[name]
    for name in list(params):  # new arrays: the child never shares memory with a parent
        noise = rng.normal(size=params[name].shape) * mutation.parameter_noise
        params[name] = (params[name] + noise).astype(np.float32)
    hyper = np.empty(len(HYPERPARAMETERS))
    for j in range(len(HYPERPARAMETERS)):
        value = second[1][j] if rng.random() < 0.5 else first[1][j]
        value = value + rng.normal() * mutation.noise[j]
        hyper[j] = min(max(value, mutation.low[j]), mutation.high[j])
    return params, hyper


def parents(population: Population, tournament_size: int, num_parents: int, rng) -> np.ndarray:
    """``[num_parents]`` member indices drawn with replacement from the top."""
    top = population.top(tournament_size)
    return top[rng.integers(len(top), size=num_parents)]


def children(population: Population, chosen: np.ndarray, count: int, mutation: Mutation, rng):
    """``count`` children, each of two of the ``chosen`` parents drawn with replacement."""
    made = []
    for _ in range(count):
        a, b = chosen[rng.integers(len(chosen), size=2)]
        made.append(make_child(population.member(a), population.member(b), mutation, rng))
    return made


def replace(
    population: Population,
    new_params: dict[str, np.ndarray],
    new_hyper: np.ndarray,
    new_scores: np.ndarray,
    rng: np.random.Generator,
) -> Population:
    """The population after ``len(new_scores)`` random members left it (one at a time, each
    uniformly among those left) and the newcomers joined it at its end."""
    keep = list(range(len(population)))
    for _ in range(len(new_scores)):
        keep.pop(int(rng.integers(len(keep))))
    return Population(
        {k: np.concatenate([v[keep], new_params[k]]) for k, v in population.params.items()},
        np.concatenate([population.hyper[keep], new_hyper]),
        np.concatenate([population.scores[keep], new_scores]),
    )
