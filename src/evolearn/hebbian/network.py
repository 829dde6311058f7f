"""The random networks of Najarro & Risi 2020: a feed-forward net without biases whose hidden
layers are tanh and whose output layer is linear (for state vectors 128-64 hidden neurons:
``obs -> 128 -> 64 -> actions``; the ant's output layer is tanh too). For images, two static
convolution layers come first (:mod:`evolearn.hebbian.pixels`). The layers here are plastic:
their weights start random in every episode and change by the network's Hebbian rule after
every environment step.

A layer's weights are ``[n_in, n_out]`` (pre, post), so a layer computes ``o_next = f(o @ W)``;
a population's are ``[population, n_in, n_out]``. Pure arrays, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: The hidden layers of the original's state-vector network.
DEFAULT_HIDDEN = (128, 64)
#: How the weights of an episode's start are drawn (``coevolve``: evolved with the rule).
INIT_WEIGHTS = ("uni", "normal", "coevolve")
#: ``uni``: U(-UNI_LIMIT, UNI_LIMIT); ``normal``: N(0, NORMAL_STD) (the original's values).
UNI_LIMIT = 0.1
NORMAL_STD = 0.024


def layer_shapes(num_inputs: int, hidden: Sequence[int], num_outputs: int) -> list[tuple]:
    """``[(n_in, n_out), ...]`` of the plastic layers, input side first."""
    sizes = [num_inputs, *hidden, num_outputs]
    return list(zip(sizes[:-1], sizes[1:], strict=True))


def synapse_count(shapes: Sequence[tuple]) -> int:
    return sum(n_in * n_out for n_in, n_out in shapes)


def random_weights(
    kind: str, shapes: Sequence[tuple], rng: np.random.Generator, dtype=np.float32
) -> list[np.ndarray]:
    """One network's episode-start weights, a ``[n_in, n_out]`` array per layer."""
    if kind == "uni":
        return [rng.uniform(-UNI_LIMIT, UNI_LIMIT, size=s).astype(dtype) for s in shapes]
    if kind == "normal":
        return [rng.normal(0.0, NORMAL_STD, size=s).astype(dtype) for s in shapes]
    raise ValueError(f"init_weights {kind!r} draws no weights (choose from 'uni', 'normal')")


def split_layers(flat: np.ndarray, shapes: Sequence[tuple], k: int | None = None) -> list:
    """A flat vector -> its per-layer arrays ``[n_in, n_out]`` (or ``[n_in, n_out, k]``), each in
    C order one after the other (views, not copies)."""
    needed = sum(n_in * n_out for n_in, n_out in shapes) * (k or 1)
    if needed != len(flat):
        raise ValueError(f"a vector of {len(flat)} values does not fill layers of {needed}")
    layers, start = [], 0
    for n_in, n_out in shapes:
        size = n_in * n_out * (k or 1)
        shape = (n_in, n_out) if k is None else (n_in, n_out, k)
        layers.append(flat[start : start + size].reshape(shape))
        start += size
    return layers


def forward_one(
    weights: Sequence[np.ndarray], x: np.ndarray, output_tanh: bool = False
) -> list[np.ndarray]:
    """The reference: one network's activities ``[o0, o1, ..., oL]`` for the input ``x [n_in]``
    (``o0 = x``, tanh on the hidden layers, the output ``oL`` linear, or tanh with
    ``output_tanh``)."""
    activities = [x]
    for index, w in enumerate(weights):
        z = activities[-1] @ w
        last = index == len(weights) - 1
        activities.append(z if last and not output_tanh else np.tanh(z))
    return activities
