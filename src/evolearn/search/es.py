"""OpenAI-ES: the natural-evolution-strategy step of Salimans et al. 2017 (their algorithm 2),
as Najarro & Risi 2020 run it for their Hebbian coefficients, and as the champion tool tunes a
WANN's weights with (``evolearn.wann.protocol``).

One generation: ``popsize / 2`` Gaussian noise vectors and their mirror images (antithetic
pairs) perturb the mean, ``candidate = mean + sigma * eps``; their returns (maximised), less an
optional L2 term ``l2 * mean(candidate[penalised] ** 2)``, become centred ranks in [-0.5, 0.5]
(optionally standardised to mean 0 and standard deviation 1); the mean moves by plain SGD,

    mean <- mean + lr / (popsize * sigma) * sum_k eps_k * r_k,

and afterwards ``lr`` and ``sigma`` each shrink by their decay factor while they are above their
floor (Najarro & Risi: ``lr *= decay`` while ``lr > 0.001``, ``sigma *= 0.999`` while
``sigma > 0.01``). Pure arrays: no I/O, the random generator is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class OpenES:
    """The settings of the strategy (the state it changes is an :class:`ESState`)."""

    popsize: int  # even: antithetic pairs
    standardise: bool = True  # ranks to mean 0, standard deviation 1 (Najarro & Risi)
    lr_decay: float = 1.0
    lr_floor: float = 0.0  # lr decays only while above it
    sigma_decay: float = 1.0
    sigma_floor: float = 0.0
    l2: float = 0.0  # weight of the L2 term subtracted from each return
    penalised: int | None = None  # the L2 term covers mean[:penalised] (None: all of it)

    def __post_init__(self):
        if self.popsize < 2 or self.popsize % 2:
            raise ValueError(
                f"popsize must be even and at least 2 (antithetic pairs), not {self.popsize}"
            )

    @property
    def half(self) -> int:
        return self.popsize // 2


@dataclass
class ESState:
    """Where the search stands: the mean ``[dims]``, the current ``lr`` and ``sigma``."""

    mean: np.ndarray
    lr: float
    sigma: float

    def to_dict(self) -> dict:
        return {"mean": self.mean, "lr": self.lr, "sigma": self.sigma}

    @classmethod
    def from_dict(cls, saved: dict) -> ESState:
        return cls(
            np.asarray(saved["mean"], dtype=np.float64), float(saved["lr"]), float(saved["sigma"])
        )


def centred_ranks(values: np.ndarray) -> np.ndarray:
    """``[n]`` values -> their ranks scaled to [-0.5, 0.5] (the lowest -0.5); equal values are
    ranked in their order."""
    values = np.asarray(values)
    ranks = np.empty(len(values))
    ranks[np.argsort(values, kind="stable")] = np.arange(len(values))
    return ranks / max(1, len(values) - 1) - 0.5


def sample_noise(es: OpenES, dims: int, rng: np.random.Generator) -> np.ndarray:
    """``[popsize / 2, dims]`` standard normal noise; the candidates use it and its negative."""
    return rng.normal(size=(es.half, dims))


def candidates(state: ESState, noise: np.ndarray) -> np.ndarray:
    """``[popsize, dims]``: ``mean + sigma * noise``, then ``mean - sigma * noise``."""
    return np.concatenate([state.mean + state.sigma * noise, state.mean - state.sigma * noise])


def shaped_fitness(
    es: OpenES, state: ESState, noise: np.ndarray, returns: np.ndarray
) -> np.ndarray:
    """``[popsize]`` returns (in the order of :func:`candidates`) -> the weights of their noise
    in the step: the L2 term subtracted, centred ranks, standardised if ``es.standardise``."""
    fitness = np.asarray(returns, dtype=np.float64)
    if es.l2:
        part = candidates(state, noise)[:, : es.penalised]
        fitness = fitness - es.l2 * np.mean(part**2, axis=1)
    ranks = centred_ranks(fitness)
    if es.standardise:
        std = ranks.std()
        if std == 0:
            raise ValueError("the ranks of a generation have no spread (a population of one)")
        ranks = (ranks - ranks.mean()) / std
    return ranks


def step(es: OpenES, state: ESState, noise: np.ndarray, returns: np.ndarray) -> ESState:
    """The state after one generation whose candidates (:func:`candidates` of ``noise``) got
    ``returns``: the SGD step, then the decays."""
    r = shaped_fitness(es, state, noise, returns)
    # sum_k eps_k r_k over the pairs (eps, -eps) is (r+ - r-) @ eps.
    gradient = (r[: es.half] - r[es.half :]) @ noise / es.popsize
    mean = state.mean + state.lr * gradient / state.sigma
    lr = state.lr * es.lr_decay if state.lr > es.lr_floor else state.lr
    sigma = state.sigma * es.sigma_decay if state.sigma > es.sigma_floor else state.sigma
    return ESState(mean, lr, sigma)
