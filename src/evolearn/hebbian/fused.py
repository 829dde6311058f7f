"""The Hebbian step of a whole population in one pass over its synapses (numba), the fast path
of :mod:`evolearn.hebbian.episodes`.

:func:`evolearn.hebbian.rules.update_population` followed by
:func:`~evolearn.hebbian.rules.normalise` reads and writes every weight about ten times (one
numpy operation each); here each synapse is read once with its four folded coefficients and
written once. The normalisation is kept as a factor per network and layer instead of a second
pass: a layer is stored as ``raw`` with ``scale``, its weights being ``raw * scale``; the forward
pass multiplies its products by ``scale``, and the next update computes
``raw * scale + dW`` in the same pass that finds the new largest weight, whose inverse becomes
the new ``scale`` (1 without normalisation). The numbers are the reference's up to rounding
(``raw * (1 / m)`` for ``raw / m``), as the tests check.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from evolearn.hebbian.rules import LayerTerms


@njit(cache=True)
def _step(raw, scale, pre, post, a, b, c, d, normalise):  # pragma: no cover - compiled
    # One process, no threads: a run's parallelism is its workers. The largest weight is found
    # in a second loop over the row just written (still in cache): with it in the first loop
    # the update does not vectorise. No fastmath: NaN stays NaN, and a network with a NaN
    # weight gives NaN outputs, which end its episode (episodes.py); the largest finite weight
    # is what a NaN layer is divided by here.
    population, n_in, n_out = raw.shape
    for p in range(population):
        s = scale[p]
        largest = raw.dtype.type(0.0)
        y = post[p]
        for i in range(n_in):
            x = pre[p, i]
            row, ai, bi, ci, di = raw[p, i], a[p, i], b[p, i], c[p, i], d[p, i]
            for j in range(n_out):
                row[j] = row[j] * s + ai[j] * (x * y[j]) + bi[j] * x + ci[j] * y[j] + di[j]
            for j in range(n_out):
                v = abs(row[j])
                if v > largest:
                    largest = v
        # as rules.normalise_one: a layer of zeros is left undivided
        scale[p] = 1.0 / largest if normalise and largest > 0.0 else 1.0


def step_layer(
    raw: np.ndarray,
    scale: np.ndarray,
    pre: np.ndarray,
    post: np.ndarray,
    terms: LayerTerms,
    normalise: bool,
) -> None:
    """One layer of every network updated in place: ``raw [population, n_in, n_out]`` and
    ``scale [population]`` (the weights are ``raw * scale[:, None, None]``, ``scale`` of the
    dtype of ``raw``), the step's activities ``pre [population, n_in]`` and ``post
    [population, n_out]``."""
    _step(
        raw,
        scale,
        np.ascontiguousarray(pre, dtype=raw.dtype),
        np.ascontiguousarray(post, dtype=raw.dtype),
        terms.a,
        terms.b,
        terms.c,
        terms.d,
        normalise,
    )


def forward(
    raws: list[np.ndarray], scales: list[np.ndarray], x: np.ndarray, output_tanh: bool = False
) -> list[np.ndarray]:
    """:func:`evolearn.hebbian.network.forward_one` for every network at once, its layers
    stored as ``raw`` with ``scale``: ``x [population, n_in]`` -> the activities ``[o0, ...,
    oL]``, each ``[population, n]``."""
    activities = [x]
    last = len(raws) - 1
    for index, (raw, scale) in enumerate(zip(raws, scales, strict=True)):
        z = np.matmul(activities[-1][:, None, :], raw)[:, 0, :]
        z *= scale[:, None]
        activities.append(z if index == last and not output_tanh else np.tanh(z, out=z))
    return activities
