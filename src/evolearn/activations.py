"""The activation functions of the WANN search (Gaier & Ha 2019), in numpy and torch.

The first ten are the thesis's and the WANN paper's search set (:data:`SEARCH_ACTIVATIONS`, what
``hidden_activations: all`` draws from); ``squared`` (the WANN release's eleventh, id 11 in its
files) is known so that the release's champions can be read, and is drawn only when named.
A genome stores activations as indices into :data:`ACTIVATION_NAMES`; inputs are linear
(index 0), outputs have the run's ``output_activation`` (linear in the thesis).

Each :class:`Activation` carries four implementations of one function: a plain one for numpy and
for torch (the per-network passes and the references), and one for each that overwrites its
argument (the whole-population passes, which apply an activation to a block of their activity
array without a temporary copy). The in-place forms do the same operations in the same order, so
both give the same numbers bit for bit.

To add an activation: append an :class:`Activation` to :data:`ACTIVATIONS`. Its index is its
position; existing genomes keep their meaning as long as the new one goes last.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # torch is imported only by the code that computes with it
    import torch


@dataclass(frozen=True)
class Activation:
    """One activation function, four ways.

    Attributes:
        name: how genomes, logs and figures name it.
        numpy, torch: ``f(x) -> array``, a new array or tensor.
        numpy_in_place, torch_in_place: ``f(x)`` that overwrites ``x`` with ``f(x)``.
    """

    name: str
    numpy: Callable[[np.ndarray], np.ndarray]
    torch: Callable[[torch.Tensor], torch.Tensor]
    numpy_in_place: Callable[[np.ndarray], None]
    torch_in_place: Callable[[torch.Tensor], None]

    def __reduce__(self):
        # Pickled by name (its functions are lambdas): compiled networks can go to a worker.
        return (_activation_by_name, (self.name,))


def _step_in_place(x: np.ndarray) -> None:
    x[...] = x > 0


#: Every activation, by index.
ACTIVATIONS: tuple[Activation, ...] = (
    Activation("linear", lambda x: x, lambda x: x, lambda x: None, lambda x: None),
    Activation(
        "step",
        lambda x: (x > 0).astype(x.dtype),
        lambda x: (x > 0).to(x.dtype),
        _step_in_place,
        lambda x: x.copy_(x > 0),
    ),
    Activation(
        "sine",
        lambda x: np.sin(np.pi * x),
        lambda x: (math.pi * x).sin(),
        lambda x: np.sin(np.multiply(x, np.pi, out=x), out=x),
        lambda x: x.mul_(math.pi).sin_(),
    ),
    Activation(
        "cosine",
        lambda x: np.cos(np.pi * x),
        lambda x: (math.pi * x).cos(),
        lambda x: np.cos(np.multiply(x, np.pi, out=x), out=x),
        lambda x: x.mul_(math.pi).cos_(),
    ),
    Activation(
        "gaussian",
        lambda x: np.exp(-(x**2) / 2),
        lambda x: (-(x**2) / 2).exp(),
        lambda x: np.exp(np.divide(np.negative(np.square(x, out=x), out=x), 2, out=x), out=x),
        lambda x: x.pow_(2).neg_().div_(2).exp_(),
    ),
    Activation(
        "tanh", np.tanh, lambda x: x.tanh(), lambda x: np.tanh(x, out=x), lambda x: x.tanh_()
    ),
    Activation(
        "sigmoid",
        lambda x: (np.tanh(x / 2) + 1) / 2,
        lambda x: ((x / 2).tanh() + 1) / 2,
        lambda x: np.divide(np.add(np.tanh(np.divide(x, 2, out=x), out=x), 1, out=x), 2, out=x),
        lambda x: x.div_(2).tanh_().add_(1).div_(2),
    ),
    Activation(
        "inverse", lambda x: -x, lambda x: -x, lambda x: np.negative(x, out=x), lambda x: x.neg_()
    ),
    Activation("abs", np.abs, lambda x: x.abs(), lambda x: np.abs(x, out=x), lambda x: x.abs_()),
    Activation(
        "relu",
        lambda x: np.maximum(x, 0),
        lambda x: x.relu(),
        lambda x: np.maximum(x, 0, out=x),
        lambda x: x.relu_(),
    ),
    Activation(
        "squared",
        np.square,
        lambda x: x.square(),
        lambda x: np.square(x, out=x),
        lambda x: x.square_(),
    ),
)

ACTIVATION_NAMES: tuple[str, ...] = tuple(a.name for a in ACTIVATIONS)
LINEAR = ACTIVATION_NAMES.index("linear")
#: The activations a WANN search draws hidden neurons from by default (``hidden_activations:
#: all``): the ten of the thesis and the WANN paper, indices 0..9. Seeded runs draw exactly as
#: they did before ``squared`` was added.
SEARCH_ACTIVATIONS: tuple[str, ...] = ACTIVATION_NAMES[:10]
#: name -> activation.
BY_NAME: dict[str, Activation] = {a.name: a for a in ACTIVATIONS}


def _activation_by_name(name: str) -> Activation:
    return BY_NAME[name]


def activation_index(name: str) -> int:
    """The index of an activation name; ValueError listing the names for an unknown one."""
    try:
        return ACTIVATION_NAMES.index(name)
    except ValueError:
        raise ValueError(
            f"unknown activation {name!r}; known: {', '.join(ACTIVATION_NAMES)}"
        ) from None
