"""One weight learning network (WLNN, Rieke 2020) in torch: its forward pass and weights.

A :class:`~evolearn.genome.Genome` with weights compiles into a :class:`WLNNNetwork`: one dense
weight matrix per layer, built in every forward pass from the vector of connection weights, so
that only existing connections carry a weight and only they can ever change. Hidden neurons are
relu, outputs are linear (their values are the logits).

What the learning rules need of a network is here too: the matrix product whose backward pass
sends errors through fixed random feedback weights (feedback alignment, Lillicrap et al. 2016),
the draw of those weights (:func:`draw_feedback_weights`, shared with the population path) and
one step of Oja's rule (:meth:`WLNNNetwork.oja_step`). How a network is trained is
:mod:`evolearn.wlnn.learning`.
"""

from __future__ import annotations

import numpy as np
import torch

from evolearn.genome import Genome
from evolearn.losses import cross_entropy_torch


class _FeedbackAlignmentMatmul(torch.autograd.Function):
    """``x @ W`` whose backward pass sends errors down through ``B`` instead of ``W``."""

    @staticmethod
    def forward(ctx, x, weight, feedback):
        ctx.save_for_backward(x, feedback)
        return x @ weight

    @staticmethod
    def backward(ctx, grad_out):
        x, feedback = ctx.saved_tensors
        grad_x = grad_out @ feedback.T if ctx.needs_input_grad[0] else None
        grad_w = x.T @ grad_out if ctx.needs_input_grad[1] else None
        return grad_x, grad_w, None


def layer_sorted_connections(genome: Genome) -> np.ndarray:
    """Connection indices sorted by the layer of their target (stable): int64 ``[num_connections]``.

    The order in which :class:`WLNNNetwork` keeps its weights and draws its feedback weights.
    """
    return np.argsort(genome.layer[genome.connections[:, 1]], kind="stable")


def draw_feedback_weights(genome: Genome, generator: torch.Generator) -> torch.Tensor:
    """Fixed random feedback weights N(0, 1) of feedback alignment, one per connection.

    Returns float32 ``[num_connections]`` in the genome's connection order; the numbers are drawn
    in :func:`layer_sorted_connections` order, so every implementation gets the same matrices.
    """
    drawn = torch.randn(genome.num_connections, generator=generator)
    weights = torch.empty_like(drawn)
    weights[torch.as_tensor(layer_sorted_connections(genome))] = drawn
    return weights


class WLNNNetwork:
    """One weight learning network in torch.

    Neurons are kept sorted by layer, so the activities of all neurons below layer ``l`` form a
    prefix of the activity matrix, and layer ``l`` computes ``act(prefix @ W_l)`` with a dense
    ``W_l [neurons below l, neurons in l]`` scattered from the connection weights into l.

    Attributes:
        w_hidden: float32 ``[connections into hidden neurons]``, sorted by target layer.
        w_out: float32 ``[connections into output neurons]``.
    """

    def __init__(self, genome: Genome, device: torch.device | str = "cpu"):
        if genome.weights is None:
            raise ValueError("a weight learning network needs weights")
        g = genome
        self.genome = g
        self.device = torch.device(device)
        order = np.argsort(g.layer, kind="stable")  # neuron at each sorted position
        position = np.empty_like(order)
        position[order] = np.arange(len(order))
        starts = np.searchsorted(g.layer[order], np.arange(g.num_layers + 1))
        src, dst = g.connections[:, 0], g.connections[:, 1]
        target_layer = g.layer[dst]
        # Connections sorted by target layer; self._perm maps that order back to the genome's.
        self._perm = layer_sorted_connections(g)
        sorted_target = target_layer[self._perm]
        bounds = np.searchsorted(sorted_target, np.arange(g.num_layers + 1))
        self.num_hidden_connections = int(bounds[-2])
        self.layers = []  # per computing layer: (rows, cols, first, last, shape)
        for l in range(1, g.num_layers):
            first, last = int(bounds[l]), int(bounds[l + 1])
            conn = self._perm[first:last]
            rows = torch.as_tensor(position[src[conn]], device=self.device)
            cols = torch.as_tensor(position[dst[conn]] - starts[l], device=self.device)
            shape = (int(starts[l]), int(starts[l + 1] - starts[l]))
            if l < g.num_layers - 1:
                self.layers.append((rows, cols, first, last, shape))
            else:  # output layer: indices into w_out
                h = self.num_hidden_connections
                self.layers.append((rows, cols, first - h, last - h, shape))
        weights = torch.as_tensor(g.weights[self._perm], device=self.device)
        self.w_hidden = weights[: self.num_hidden_connections].clone()
        self.w_out = weights[self.num_hidden_connections :].clone()
        # Positions of source and target of each hidden connection, for Oja's rule.
        hidden_conn = self._perm[: self.num_hidden_connections]
        self.hidden_src = torch.as_tensor(position[src[hidden_conn]], device=self.device)
        self.hidden_dst = torch.as_tensor(position[dst[hidden_conn]], device=self.device)
        self.feedback_hidden: torch.Tensor | None = None
        self.feedback_out: torch.Tensor | None = None

    def _matrix(self, values: torch.Tensor, layer) -> torch.Tensor:
        rows, cols, first, last, shape = layer
        return values.new_zeros(shape).index_put((rows, cols), values[first:last])

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits ``[batch, num_outputs]`` and all activities ``[batch, num_neurons]``.

        Activities are in layer-sorted order (inputs first, outputs last).
        """
        h = x
        last = len(self.layers) - 1
        logits = None
        for i, layer in enumerate(self.layers):
            is_output = i == last
            w = self.w_out if is_output else self.w_hidden
            weight = self._matrix(w, layer)
            feedback = self.feedback_out if is_output else self.feedback_hidden
            if feedback is not None:
                z = _FeedbackAlignmentMatmul.apply(h, weight, self._matrix(feedback, layer))
            else:
                z = h @ weight
            if is_output:
                logits = z
            h = torch.cat([h, z if is_output else torch.relu(z)], dim=1)
        return logits, h

    def draw_feedback(self, generator: torch.Generator) -> None:
        """Fixed random feedback weights N(0, 1), same sparsity as W (feedback alignment)."""
        b = draw_feedback_weights(self.genome, generator)[torch.as_tensor(self._perm)]
        b = b.to(self.device)
        self.feedback_hidden = b[: self.num_hidden_connections]
        self.feedback_out = b[self.num_hidden_connections :]

    def oja_step(self, activities: torch.Tensor, lr: float) -> None:
        """Oja's rule on every hidden connection with one batch's (relu) activities."""
        if self.num_hidden_connections == 0:
            return
        x = activities[:, self.hidden_src]
        y = activities[:, self.hidden_dst]
        with torch.no_grad():
            self.w_hidden += lr * ((y * x).mean(0) - (y * y).mean(0) * self.w_hidden)

    def learned_weights(self) -> np.ndarray:
        """Current weights as float32 ``[num_connections]`` in the genome's connection order."""
        sorted_weights = torch.cat([self.w_hidden, self.w_out]).detach().cpu().numpy()
        weights = np.empty_like(sorted_weights)
        weights[self._perm] = sorted_weights
        return weights.astype(np.float32)

    @torch.no_grad()
    def evaluate(self, x: torch.Tensor, y: torch.Tensor, batch_size: int) -> tuple[float, float]:
        """Mean cross-entropy loss and accuracy over a whole set."""
        total_loss, correct = 0.0, 0
        for start in range(0, len(x), batch_size):
            logits, _ = self.forward(x[start : start + batch_size])
            target = y[start : start + batch_size]
            loss, right = cross_entropy_torch(logits, target, dim=1, reduction="sum")
            total_loss += float(loss)
            correct += int(right)
        return total_loss / len(x), correct / len(x)
