"""The Hebbian rules of Najarro & Risi 2020 ("Meta-learning through Hebbian plasticity in random
networks"): every synapse of a plastic layer has its own coefficients, and after every
environment step its weight changes by

    dW_ij = eta_ij * (A_ij * o_i * o_j + B_ij * o_i + C_ij * o_j + D_ij),

``o_i`` the activity of the presynaptic neuron i, ``o_j`` that of the postsynaptic neuron j. A
rule keeps some of the terms; a term it does not have is 0, a missing ``eta`` is 1:

=========  ===================  ==============================================
rule       coefficients, order  dW
=========  ===================  ==============================================
A          A                    A o_i o_j
AD         A, D                 A o_i o_j + D
AD_lr      A, D, eta            eta (A o_i o_j + D)
ABC        A, B, C              A o_i o_j + B o_i + C o_j
ABC_lr     A, B, C, eta         eta (A o_i o_j + B o_i + C o_j)
ABCD       A, B, C, D           A o_i o_j + B o_i + C o_j + D
ABCD_lr    A, B, C, eta, D      eta (A o_i o_j + B o_i + C o_j + D)   (default)
=========  ===================  ==============================================

The coefficient order is the original code's (its ``ABCD_lr`` stores ``[A, B, C, eta, D]``) and is
named in every saved coefficient file. A layer's coefficients are an array
``[..., n_in, n_out, k]`` (pre, post, coefficient); the flat vector the evolution strategy
searches is the layers' arrays one after the other, each in C order (synapse (i, j) of a layer at
row ``i * n_out + j`` of its ``[n_in * n_out, k]`` block, as in the original).

Pure arrays, no I/O. :func:`update_one` and :func:`normalise_one` are the plain per-network
reference; the fast path (:mod:`evolearn.hebbian.fused`) steps every network of a population in
one pass, with the coefficients folded by :func:`fold` into the four products ``eta A``,
``eta B``, ``eta C``, ``eta D`` once per episode.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: rule name -> its coefficients, in the order they are stored.
RULES: dict[str, tuple[str, ...]] = {
    "A": ("A",),
    "AD": ("A", "D"),
    "AD_lr": ("A", "D", "eta"),
    "ABC": ("A", "B", "C"),
    "ABC_lr": ("A", "B", "C", "eta"),
    "ABCD": ("A", "B", "C", "D"),
    "ABCD_lr": ("A", "B", "C", "eta", "D"),
}
DEFAULT_RULE = "ABCD_lr"
#: Not a rule: the evolution strategy evolves the weights themselves (the paper's baseline).
STATIC = "static"


def coefficient_count(rule: str) -> int:
    """``k``, the number of coefficients per synapse of ``rule``."""
    return len(RULES[rule])


def update_one(
    weights: np.ndarray, pre: np.ndarray, post: np.ndarray, coefficients: np.ndarray, rule: str
) -> np.ndarray:
    """The reference: one network's layer ``[n_in, n_out]`` after one update, its activities
    ``pre [n_in]`` and ``post [n_out]`` and coefficients ``[n_in, n_out, k]``, written as the
    formula (a new array)."""
    names = RULES[rule]
    h = {name: coefficients[:, :, c] for c, name in enumerate(names)}
    delta = np.zeros_like(weights)
    if "A" in h:
        delta = delta + h["A"] * np.outer(pre, post)
    if "B" in h:
        delta = delta + h["B"] * pre[:, None]
    if "C" in h:
        delta = delta + h["C"] * post[None, :]
    if "D" in h:
        delta = delta + h["D"]
    if "eta" in h:
        delta = h["eta"] * delta
    return weights + delta


@dataclass
class LayerTerms:
    """A layer's coefficients folded for the fast path: ``eta * A`` ... ``eta * D``, each
    ``[population, n_in, n_out]``; a term the rule does not have is zeros (made once per
    episode, not per step)."""

    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    d: np.ndarray

    def select(self, rows: np.ndarray) -> LayerTerms:
        """The terms of the networks ``rows`` only."""
        return LayerTerms(self.a[rows], self.b[rows], self.c[rows], self.d[rows])


def fold(coefficients: np.ndarray, rule: str, dtype=np.float32) -> LayerTerms:
    """``[population, n_in, n_out, k]`` coefficients -> their :class:`LayerTerms`."""
    names = RULES[rule]
    eta = coefficients[..., names.index("eta")] if "eta" in names else None

    def term(name):
        if name not in names:
            return np.zeros(coefficients.shape[:-1], dtype=dtype)
        value = coefficients[..., names.index(name)]
        if eta is not None:
            value = eta * value
        return np.ascontiguousarray(value, dtype=dtype)

    return LayerTerms(term("A"), term("B"), term("C"), term("D"))


def normalise_one(weights: np.ndarray) -> np.ndarray:
    """One layer ``[n_in, n_out]`` divided by its largest absolute weight (a new array), so that
    afterwards the largest is 1. A layer of zeros is left as it is."""
    largest = np.abs(weights).max()
    return weights / largest if largest > 0 else weights.copy()
