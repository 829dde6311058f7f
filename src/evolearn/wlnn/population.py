"""A whole population of weight learning networks trained as one model: the fast path.

:class:`WLNNPopulation` holds every network's weights over one
:class:`~evolearn.wlnn.graph.PopulationGraph` (see that module for how the graph is laid out
and why a network's numbers do not depend on the networks it is trained with);
:class:`PopulationTrainer` trains it with the learning rules of :mod:`evolearn.wlnn.learning`,
all networks on the same mini-batches:

- the loss is the sum over networks of each network's mean cross-entropy (the softmax runs over
  each network's outputs for each example), so each network gets exactly the gradient of its
  own loss;
- the optimizers (sgd, adam, adadelta) act per weight, so one optimizer over the concatenated
  weight vectors takes the same step as one optimizer per network; the weights a rule keeps
  away from the optimizer (``last_layer``, ``hebbian``, ``train_only_outputs``) are chosen by
  :func:`~evolearn.wlnn.learning.make_optimizer`, as for one network;
- hebbian: Oja's rule updates every hidden connection of every network after each optimizer
  step, with that batch's activities.

So a chunk trained in a worker gives bit for bit the numbers the whole population gives in one
process, with any number of torch threads (the tests check it). :func:`train_population` and
:func:`evaluate_population` are what the generation loop calls.

The reference is the per-network path (:func:`evolearn.wlnn.learning.train_genome` and
:meth:`evolearn.wlnn.network.WLNNNetwork.evaluate`); both give the same learned weights and
records up to float32 summation order (tests/wlnn/test_population.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from evolearn.genome import Genome
from evolearn.losses import cross_entropy_torch
from evolearn.wlnn.graph import PopulationGraph, Workspace
from evolearn.wlnn.learning import (
    LEARNING_RULES,
    TrainConfig,
    TrainingRecord,
    TrainResult,
    applies_oja,
    make_optimizer,
    training_generators,
)
from evolearn.wlnn.network import draw_feedback_weights


def losses_and_accuracies(
    logits: torch.Tensor, y: torch.Tensor, reduction: str = "mean"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-network cross-entropy loss and accuracy ``[P]``, mean or sum over the batch.

    ``logits`` is ``[P, num_outputs, B]``: the softmax runs across outputs with the batch as the
    contiguous dimension (far faster than one short row per example), and each network's
    numbers are reduced along a row of their own. An example counts as correct when its label
    is the *first* largest logit, as ``argmax`` decides ties.
    """
    ce, correct = cross_entropy_torch(logits, y, dim=1)  # [P, B]
    correct = correct.float()
    if reduction == "mean":
        return ce.mean(1), correct.mean(1)
    return ce.sum(1), correct.sum(1)


class WLNNPopulation:
    """A population of weight learning networks as one model (see the module docstring).

    Attributes:
        graph: the compiled :class:`PopulationGraph`.
        w_hidden: float32 ``[all connections into hidden neurons]``, network by network.
        w_out: float32 ``[all connections into outputs]``, network by network.
        feedback: float32 ``cat(hidden, output)`` feedback weights, or None (backprop).
    """

    def __init__(self, genomes: Sequence[Genome], device: torch.device | str = "cpu"):
        for g in genomes:
            if g.weights is None:
                raise ValueError("a weight learning network needs weights")
        self.graph = PopulationGraph(genomes, device)
        self.device = self.graph.device
        self.w_hidden, self.w_out = self.graph.pack([g.weights for g in genomes])
        self.feedback: torch.Tensor | None = None

    @property
    def num_networks(self) -> int:
        return self.graph.num_networks

    def set_feedback(self, per_network: Sequence[np.ndarray | torch.Tensor]) -> None:
        """Feedback weights of feedback alignment, per network in genome connection order."""
        hidden, output = self.graph.pack([np.asarray(b) for b in per_network])
        self.feedback = torch.cat([hidden, output])

    def forward(self, x: torch.Tensor, saved: dict | None = None) -> torch.Tensor:
        """Logits ``[batch, num_networks, num_outputs]`` of inputs ``[batch, num_inputs]``
        (``saved``: see :meth:`PopulationGraph.forward`)."""
        logits = self.graph.forward(
            x.T.contiguous(), self.w_hidden, self.w_out, self.feedback, saved
        )
        return logits.view(self.num_networks, self.graph.num_outputs, -1).permute(2, 0, 1)

    def learned_weights(self) -> list[np.ndarray]:
        """Current weights per network, float32 ``[num_connections]`` in genome order."""
        return self.graph.unpack(self.w_hidden, self.w_out)

    @torch.no_grad()
    def evaluate(
        self, x: torch.Tensor, y: torch.Tensor, batch_size: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Mean cross-entropy loss ``[P]`` and accuracy ``[P]`` of every network, as it is, on a
        whole set ``x [N, num_inputs]``, ``y [N]``."""
        total_loss = np.zeros(self.num_networks)
        correct = np.zeros(self.num_networks)
        workspace = Workspace()
        for start in range(0, len(x), batch_size):
            xb, yb = x[start : start + batch_size], y[start : start + batch_size]
            logits = self.graph.forward(
                xb.T.contiguous(), self.w_hidden.detach(), self.w_out.detach(), workspace=workspace
            )
            logits = logits.view(self.num_networks, self.graph.num_outputs, -1)
            loss, right = losses_and_accuracies(logits, yb, "sum")
            total_loss += loss.cpu().numpy()
            correct += right.cpu().numpy()
        return total_loss / len(x), correct / len(x)


class PopulationTrainer:
    """Trains a :class:`WLNNPopulation` with a learning rule and an optimizer, all networks on
    the same mini-batches, as :class:`evolearn.wlnn.learning.Trainer` trains one network."""

    def __init__(self, population: WLNNPopulation, config: TrainConfig):
        self.population = population
        self.config = config
        self.optimizer = make_optimizer(config, population.w_out, population.w_hidden)
        self.oja = applies_oja(config)
        self.workspace = Workspace()

    def train_epoch(
        self, x: torch.Tensor, y: torch.Tensor, order: torch.Tensor
    ) -> tuple[np.ndarray, np.ndarray]:
        """One epoch on the mini-batches ``order`` (int64 ``[num_batches, batch_size]``):
        per-network, per-batch losses and accuracies ``[num_networks, num_batches]``."""
        population = self.population
        graph = population.graph
        order = order.to(x.device)
        num_batches = len(order)
        losses = torch.empty((num_batches, population.num_networks), device=x.device)
        accs = torch.empty((num_batches, population.num_networks), device=x.device)
        saved: dict = {}
        for i in range(num_batches):
            xb, yb = x[order[i]], y[order[i]]
            logits = graph.forward(
                xb.T.contiguous(),
                population.w_hidden,
                population.w_out,
                population.feedback,
                saved,
                self.workspace,
            )
            logits = logits.view(population.num_networks, graph.num_outputs, -1)
            loss, acc = losses_and_accuracies(logits, yb, "mean")
            self.optimizer.zero_grad(set_to_none=True)
            loss.sum().backward()  # each network's loss depends on its own weights only
            self.optimizer.step()
            if self.oja:
                graph.oja_step(
                    population.w_hidden, saved["activities"], saved["sources"], self.config.lr
                )
            losses[i] = loss.detach()
            accs[i] = acc
        return losses.T.cpu().numpy(), accs.T.cpu().numpy()


def train_population(
    genomes: Sequence[Genome],
    x: torch.Tensor,
    y: torch.Tensor,
    config: TrainConfig,
    rngs: Sequence[np.random.Generator],
    batch_orders: torch.Tensor,
) -> list[TrainResult]:
    """Train every network for ``config.num_epochs`` epochs on the same mini-batches and score
    each: for each network the same as :func:`evolearn.wlnn.learning.train_genome` with these
    ``batch_orders``, up to float32 summation order.

    Args:
        genomes: the networks with their initial weights.
        x: float32 ``[N, num_inputs]`` training inputs (on the device to train on).
        y: int64 ``[N]`` labels.
        config: the training options.
        rngs: each network's own random stream, used as ``train_genome`` uses it (it draws
            the feedback matrices of feedback alignment).
        batch_orders: int64 ``[num_epochs, num_batches, batch_size]``
            (:func:`evolearn.wlnn.learning.draw_batch_orders`), shared by all networks.
    """
    if len(rngs) != len(genomes):
        raise ValueError("every network needs its own random stream")
    if len(batch_orders) != config.num_epochs:
        raise ValueError(f"expected {config.num_epochs} epochs of batches, got {len(batch_orders)}")
    population = WLNNPopulation(genomes, x.device)
    feedback_generators = [training_generators(rng)[1] for rng in rngs]
    if LEARNING_RULES[config.learning_rule].random_feedback:
        population.set_feedback(
            [
                draw_feedback_weights(g, generator)
                for g, generator in zip(genomes, feedback_generators, strict=True)
            ]
        )
    trainer = PopulationTrainer(population, config)
    epochs = [trainer.train_epoch(x, y, order) for order in batch_orders]
    losses = np.stack([losses for losses, _ in epochs], axis=1)  # [P, epochs, batches]
    accs = np.stack([accs for _, accs in epochs], axis=1)
    results = []
    for p, weights in enumerate(population.learned_weights()):
        record = TrainingRecord(losses[p], accs[p])
        reward, acc = record.score(config.evaluation_period)
        results.append(TrainResult(record, reward, acc, weights))
    return results


def evaluate_population(
    genomes: Sequence[Genome], x: torch.Tensor, y: torch.Tensor, batch_size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Mean loss ``[P]`` and accuracy ``[P]`` of every network, as it is, on a whole set."""
    return WLNNPopulation(genomes, x.device).evaluate(x, y, batch_size)
