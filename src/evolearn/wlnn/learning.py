"""Training weight learning networks (WLNN, Rieke 2020): learning rules, optimizers, scores.

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

:class:`Trainer` trains one :class:`~evolearn.wlnn.network.WLNNNetwork` at a time and is the
reference for the population-wide fast path of :mod:`evolearn.wlnn.population`: both can be
given the same mini-batches (:func:`draw_batch_orders`) and draw the same feedback matrices
(:func:`~evolearn.wlnn.network.draw_feedback_weights`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from evolearn.genome import Genome
from evolearn.losses import cross_entropy_torch
from evolearn.wlnn.network import WLNNNetwork


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
        if evaluation_period not in EVALUATION_PERIODS:
            raise ValueError(
                f"evaluation_period must be one of {', '.join(EVALUATION_PERIODS)} to score a "
                f"training, got {evaluation_period!r}"
            )
        period = EVALUATION_PERIODS[evaluation_period]
        return -period(self.losses), period(self.accs)


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


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """How to train a weight learning network: the training options of a script.

    No defaults but None for ``evaluation_period``: the options' defaults live in the catalogue
    (:mod:`evolearn.experiment.options`) and the scripts' own overrides in their specs.
    ``evaluation_period`` is None for a script that does not score its training
    (run-wlnn-mnist-no-evolution.py).
    """

    learning_rule: str
    optimizer: str
    lr: float
    batch_size: int
    num_epochs: int
    train_only_outputs: bool
    evaluation_period: str | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> TrainConfig:
        """The training options of a script's parameters (ValueError naming one it lacks)."""
        values = {}
        for f in dataclasses.fields(cls):
            if f.name in params:
                values[f.name] = params[f.name]
            elif f.default is dataclasses.MISSING:
                raise ValueError(f"the parameters lack the training option {f.name!r}")
        return cls(**values)


def make_optimizer(
    config: TrainConfig, w_out: torch.Tensor, w_hidden: torch.Tensor
) -> torch.optim.Optimizer:
    """The optimizer of a training run, over the weights the learning rule lets it train.

    The output weights always; the hidden weights when the rule trains them with the
    optimizer (backprop, feedback alignment) and ``train_only_outputs`` is off. The trained
    tensors are made to require gradients. Shared by the per-network :class:`Trainer` and the
    population's :class:`~evolearn.wlnn.population.PopulationTrainer`.
    """
    rule = LEARNING_RULES[config.learning_rule]
    trains_hidden = rule.optimizer_trains_hidden and not config.train_only_outputs
    trained = [w_out] + ([w_hidden] if trains_hidden else [])
    for tensor in trained:
        tensor.requires_grad_(True)
    return OPTIMIZERS[config.optimizer](trained, lr=config.lr)


def applies_oja(config: TrainConfig) -> bool:
    """Whether Oja's rule updates the hidden weights after each optimizer step."""
    return LEARNING_RULES[config.learning_rule].oja_hidden and not config.train_only_outputs


class Trainer:
    """Trains one :class:`WLNNNetwork` epoch by epoch with a learning rule and an optimizer."""

    def __init__(self, model: WLNNNetwork, config: TrainConfig, rng: np.random.Generator):
        """``rng`` seeds two torch streams (:func:`training_generators`): the batch order and
        the feedback matrices, kept apart so that feedback alignment visits the batches in the
        same order as backprop."""
        self.model = model
        self.config = config
        self.generator, feedback_generator = training_generators(rng)
        self.optimizer = make_optimizer(config, model.w_out, model.w_hidden)
        if LEARNING_RULES[config.learning_rule].random_feedback:
            model.draw_feedback(feedback_generator)
        self.oja = applies_oja(config)

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
            loss, acc = cross_entropy_torch(logits, yb, dim=1, reduction="mean")
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            if self.oja:
                self.model.oja_step(activities.detach(), self.config.lr)
            losses[i] = loss.detach()
            accs[i] = acc
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
    model = WLNNNetwork(genome, x.device)
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
