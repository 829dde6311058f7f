"""Weight learning networks (WLNN, Rieke 2020): torch forward pass and learning rules.

A :class:`Genome` with weights compiles into a :class:`WLNNModel`: one dense weight matrix per
layer, built in every forward pass from the vector of connection weights, so that only existing
connections carry a weight and only they can ever change. Hidden neurons are relu, outputs are
linear (their values are the logits).

Learning rules (:data:`LEARNING_RULES`):

- ``backprop``: gradient descent on all weights.
- ``feedback_alignment`` (Lillicrap et al. 2016): errors travel down through fixed random
  feedback matrices B of the same shape and sparsity as W (entries N(0, 1), drawn when training
  starts) instead of through W; the weight updates use those errors as backprop would.
- ``hebbian``: output weights are trained by the optimizer on the loss; after each optimizer
  step every hidden weight changes by Oja's rule on the batch's activities,
  ``dW = lr * (mean_batch(y x^T) - mean_batch(y^2) * W)``.
- ``last_layer``: only the output weights are trained.

Each training batch is recorded (loss and accuracy); an evaluation period
(:data:`EVALUATION_PERIODS`) turns that record into one reward (minus a loss, maximised) and one
accuracy.

This module trains one network at a time and is the reference for the population-wide fast path
of :mod:`evolearn.wlnn_population`: both can be given the same mini-batches
(:func:`draw_batch_orders`) and draw the same feedback matrices (:func:`draw_feedback_weights`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from evolearn.genome import Genome


@dataclass(frozen=True)
class LearningRule:
    """How a rule trains: which weights the optimizer sees and how errors travel down."""

    name: str
    optimizer_trains_hidden: bool
    random_feedback: bool = False
    oja_hidden: bool = False


LEARNING_RULES: dict[str, LearningRule] = {
    "backprop": LearningRule("backprop", optimizer_trains_hidden=True),
    "feedback_alignment": LearningRule(
        "feedback_alignment", optimizer_trains_hidden=True, random_feedback=True
    ),
    "hebbian": LearningRule("hebbian", optimizer_trains_hidden=False, oja_hidden=True),
    "last_layer": LearningRule("last_layer", optimizer_trains_hidden=False),
}

OPTIMIZERS: dict[str, Callable[..., torch.optim.Optimizer]] = {
    "sgd": torch.optim.SGD,
    "adam": torch.optim.Adam,
    "adadelta": torch.optim.Adadelta,
}


# --- evaluation periods: per-batch record [num_epochs, batches_per_epoch] -> one number -------


def _integral(values: np.ndarray) -> float:
    return float(values.mean())


def _last_epoch(values: np.ndarray) -> float:
    return float(values[-1].mean())


def _last_batch(values: np.ndarray) -> float:
    return float(values.reshape(-1)[-1])


def _last_ten_batches(values: np.ndarray) -> float:
    return float(values.reshape(-1)[-10:].mean())


def _first_ten_batches(values: np.ndarray) -> float:
    return float(values.reshape(-1)[:10].mean())


#: name -> function of a per-batch record ``[num_epochs, batches_per_epoch]``.
EVALUATION_PERIODS: dict[str, Callable[[np.ndarray], float]] = {
    "integral": _integral,
    "last_epoch": _last_epoch,
    "last_batch": _last_batch,
    "last_ten_batches": _last_ten_batches,
    "first_ten_batches": _first_ten_batches,
}


@dataclass(frozen=True)
class TrainingRecord:
    """Loss and accuracy of every training batch, each ``[num_epochs, batches_per_epoch]``."""

    losses: np.ndarray
    accs: np.ndarray

    def score(self, evaluation_period: str) -> tuple[float, float]:
        """(reward, accuracy) over the period; reward = minus the loss, maximised."""
        period = EVALUATION_PERIODS[evaluation_period]
        return -period(self.losses), period(self.accs)


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

    The order in which :class:`WLNNModel` keeps its weights and draws its feedback weights.
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


def draw_batch_orders(
    num_examples: int, batch_size: int, num_epochs: int, generator: torch.Generator
) -> torch.Tensor:
    """The mini-batches of a training run: int64 ``[num_epochs, num_batches, batch_size]``.

    Each epoch visits the set in a new random order in ``num_examples // batch_size`` full
    mini-batches (the last, incomplete one is dropped).
    """
    return torch.stack(
        [_epoch_order(num_examples, batch_size, generator) for _ in range(num_epochs)]
    )


def _epoch_order(num_examples: int, batch_size: int, generator: torch.Generator) -> torch.Tensor:
    num_batches = num_examples // batch_size
    order = torch.randperm(num_examples, generator=generator)[: num_batches * batch_size]
    return order.view(num_batches, batch_size)


class WLNNModel:
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
            total_loss += float(F.cross_entropy(logits, target, reduction="sum"))
            correct += int((logits.argmax(1) == target).sum())
        return total_loss / len(x), correct / len(x)


@dataclass(frozen=True)
class TrainConfig:
    """How to train a weight learning network (the training options of the scripts)."""

    learning_rule: str = "backprop"
    optimizer: str = "adam"
    lr: float = 0.01
    batch_size: int = 256
    num_epochs: int = 5
    train_only_outputs: bool = False
    evaluation_period: str = "last_epoch"

    @classmethod
    def from_params(cls, params) -> TrainConfig:
        """The training options of a script's parameters; those it lacks keep their default."""
        defaults = cls()
        return cls(
            **{
                name: params.get(name, getattr(defaults, name))
                for name in cls.__dataclass_fields__  # type: ignore[attr-defined]
            }
        )


class Trainer:
    """Trains one :class:`WLNNModel` epoch by epoch with a learning rule and an optimizer."""

    def __init__(self, model: WLNNModel, config: TrainConfig, rng: np.random.Generator):
        """``rng`` seeds two torch streams (:func:`training_generators`): the batch order and
        the feedback matrices, kept apart so that feedback alignment visits the batches in the
        same order as backprop."""
        self.model = model
        self.config = config
        self.generator, feedback_generator = training_generators(rng)
        self.rule = LEARNING_RULES[config.learning_rule]
        trains_hidden = self.rule.optimizer_trains_hidden and not config.train_only_outputs
        trained = [model.w_out] + ([model.w_hidden] if trains_hidden else [])
        for tensor in trained:
            tensor.requires_grad_(True)
        self.optimizer = OPTIMIZERS[config.optimizer](trained, lr=config.lr)
        if self.rule.random_feedback:
            model.draw_feedback(feedback_generator)
        self.oja = self.rule.oja_hidden and not config.train_only_outputs

    def train_epoch(
        self, x: torch.Tensor, y: torch.Tensor, order: torch.Tensor | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """One pass over the set: per-batch losses and accuracies ``[num_batches]``.

        ``order`` (int64 ``[num_batches, batch_size]``, one epoch of :func:`draw_batch_orders`)
        gives the mini-batches; without it the set is visited in a new random order from the
        trainer's own stream, in ``len(x) // batch_size`` full mini-batches.
        """
        if order is None:
            order = _epoch_order(len(x), self.config.batch_size, self.generator)
        order = order.to(x.device)
        num_batches = len(order)
        losses = torch.empty(num_batches)
        accs = torch.empty(num_batches)
        for i in range(num_batches):
            xb, yb = x[order[i]], y[order[i]]
            logits, activities = self.model.forward(xb)
            loss = F.cross_entropy(logits, yb)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            if self.oja:
                self.model.oja_step(activities.detach(), self.config.lr)
            losses[i] = loss.detach()
            accs[i] = (logits.detach().argmax(1) == yb).float().mean()
        return losses.numpy(), accs.numpy()


@dataclass(frozen=True)
class TrainResult:
    """What training one network gives back: its record, score and learned weights."""

    record: TrainingRecord
    reward: float
    acc: float
    learned_weights: np.ndarray


def torch_generator(rng: np.random.Generator) -> torch.Generator:
    """A torch CPU generator seeded from a numpy generator (for batch order and feedback)."""
    return torch.Generator().manual_seed(int(rng.integers(2**63 - 1)))


def training_generators(rng: np.random.Generator) -> tuple[torch.Generator, torch.Generator]:
    """The two torch streams of a network's training stream: (batch order, feedback weights)."""
    batch_generator = torch_generator(rng)
    return batch_generator, torch_generator(rng)


def train_genome(
    genome: Genome,
    x: torch.Tensor,
    y: torch.Tensor,
    config: TrainConfig,
    rng: np.random.Generator,
    batch_orders: torch.Tensor | None = None,
) -> TrainResult:
    """Train one network for ``config.num_epochs`` epochs and score it.

    Args:
        genome: the network with its initial weights.
        x: float32 ``[N, num_inputs]`` training inputs (on the device to train on).
        y: int64 ``[N]`` labels.
        rng: the network's own random stream (batch order, feedback matrices).
        batch_orders: int64 ``[num_epochs, num_batches, batch_size]`` mini-batches to train on
            (:func:`draw_batch_orders`), e.g. those a whole generation shares; None: drawn from
            ``rng``.
    """
    model = WLNNModel(genome, x.device)
    trainer = Trainer(model, config, rng)
    if batch_orders is None:
        epochs = [trainer.train_epoch(x, y) for _ in range(config.num_epochs)]
    else:
        if len(batch_orders) != config.num_epochs:
            raise ValueError(
                f"expected {config.num_epochs} epochs of batches, got {len(batch_orders)}"
            )
        epochs = [trainer.train_epoch(x, y, order) for order in batch_orders]
    record = TrainingRecord(
        np.stack([losses for losses, _ in epochs]), np.stack([accs for _, accs in epochs])
    )
    reward, acc = record.score(config.evaluation_period)
    return TrainResult(record, reward, acc, model.learned_weights())
