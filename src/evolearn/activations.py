"""The ten activation functions of the WANN search (Gaier & Ha 2019), in numpy and torch.

A genome stores activations as indices into :data:`ACTIVATION_NAMES`; inputs and outputs are
linear (index 0).
"""

from __future__ import annotations

import math

import numpy as np
import torch

ACTIVATION_NAMES: tuple[str, ...] = (
    "linear",
    "step",
    "sine",
    "cosine",
    "gaussian",
    "tanh",
    "sigmoid",
    "inverse",
    "abs",
    "relu",
)
LINEAR = 0

NUMPY_ACTIVATIONS = {
    "linear": lambda x: x,
    "step": lambda x: (x > 0).astype(x.dtype),
    "sine": lambda x: np.sin(np.pi * x),
    "cosine": lambda x: np.cos(np.pi * x),
    "gaussian": lambda x: np.exp(-(x**2) / 2),
    "tanh": np.tanh,
    "sigmoid": lambda x: (np.tanh(x / 2) + 1) / 2,
    "inverse": lambda x: -x,
    "abs": np.abs,
    "relu": lambda x: np.maximum(x, 0),
}

TORCH_ACTIVATIONS = {
    "linear": lambda x: x,
    "step": lambda x: (x > 0).to(x.dtype),
    "sine": lambda x: torch.sin(math.pi * x),
    "cosine": lambda x: torch.cos(math.pi * x),
    "gaussian": lambda x: torch.exp(-(x**2) / 2),
    "tanh": torch.tanh,
    "sigmoid": lambda x: (torch.tanh(x / 2) + 1) / 2,
    "inverse": lambda x: -x,
    "abs": torch.abs,
    "relu": torch.relu,
}


def activation_index(name: str) -> int:
    """The index of an activation name; ValueError listing the names for an unknown one."""
    try:
        return ACTIVATION_NAMES.index(name)
    except ValueError:
        raise ValueError(
            f"unknown activation {name!r}; known: {', '.join(ACTIVATION_NAMES)}"
        ) from None
