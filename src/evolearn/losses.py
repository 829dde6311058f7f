"""Cross-entropy and accuracy of logits, in numpy and torch: the one home of both.

Every classifier of the toolkit scores its outputs here: the WANN classification passes (one
network at a time and the whole population) and the WLNN training and evaluation (one network
and the whole population). Both functions take logits with the outputs along one axis and
give, per example, the cross-entropy ``-log softmax(logits)[y]`` and whether the answer is
right. The answer is the *first* largest logit, as ``argmax`` decides ties, and a NaN counts as
largest, as ``argmax`` has it. Callers reduce over examples (a mean, a sum) themselves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # torch is imported by the torch function only: numpy runs start faster
    import torch


def cross_entropy_numpy(
    logits: np.ndarray, y: np.ndarray, axis: int
) -> tuple[np.ndarray, np.ndarray]:
    """Cross-entropy and correctness of each example, outputs along ``axis``.

    ``y`` (int) broadcasts to the logits' shape without ``axis``; both results have that shape:
    the loss in the logits' dtype, correctness as bools. Computed in the logits' dtype:
    float32 exp and log are an order of magnitude faster than float64 in numpy.
    """
    axis = axis % logits.ndim
    outputs = np.moveaxis(logits, axis, 0)  # a view: outputs[o] is output o of every example
    top = outputs.max(axis=0)
    total = np.zeros_like(top)
    # How many outputs share the largest value.
    num_top = np.zeros(top.shape, dtype=np.min_scalar_type(len(outputs)))
    for v in outputs:
        np.add(num_top, v == top, out=num_top)
        shifted = v - top
        total += np.exp(shifted, out=shifted)
    labels = np.broadcast_to(y, top.shape)
    picked = np.take_along_axis(logits, np.expand_dims(labels, axis), axis=axis).squeeze(axis)
    correct = picked == top
    # Ties and NaNs (rare): is y the first largest output, as argmax has it?
    unsure = (correct & (num_top > 1)) | np.isnan(top)
    if unsure.any():
        answers = np.moveaxis(logits, axis, -1)[unsure].argmax(-1)
        correct[unsure] = answers == labels[unsure]
    # -log softmax at y = log(sum exp(logits - top)) - (logits[y] - top)
    loss = np.log(total, out=total)
    loss -= picked - top
    return loss, correct


def cross_entropy_torch(
    logits: torch.Tensor, y: torch.Tensor, dim: int, reduction: str = "none"
) -> tuple[torch.Tensor, torch.Tensor]:
    """As :func:`cross_entropy_numpy`, in torch on the logits' device.

    ``reduction`` "none" gives the loss and correctness (bools) of each example; "mean" and
    "sum" reduce both over all examples (correctness to a fraction or a count), the loss exactly
    as ``torch.nn.functional.cross_entropy`` reduces it (its sum runs in another order than
    ``Tensor.sum``, which changes the last bits). The loss keeps the autograd graph (training
    differentiates it); correctness is computed without. The first largest logit is found by a
    reduction along ``dim`` rather than ``argmax``, which is several times slower along a
    dimension that is not the last.
    """
    import torch
    import torch.nn.functional as F

    dim = dim % logits.dim()
    num_outputs = logits.shape[dim]
    labels = y.expand(logits.select(dim, 0).shape)
    log_probs = F.log_softmax(logits, dim=dim).movedim(dim, 1)  # nll_loss wants classes at 1
    loss = F.nll_loss(log_probs, labels, reduction=reduction)
    with torch.no_grad():
        is_top = (logits == logits.amax(dim, keepdim=True)) | logits.isnan()
        shape = [1] * logits.dim()
        shape[dim] = num_outputs
        rank = torch.arange(num_outputs, 0, -1, device=logits.device).view(shape)
        first_top = num_outputs - (is_top * rank).amax(dim)
        correct = first_top == labels
    if reduction == "mean":
        return loss, correct.float().mean()
    if reduction == "sum":
        return loss, correct.sum()
    return loss, correct
