"""The WANN paper's evaluation of a champion (Gaier & Ha 2019, table 1 and the MNIST results),
for ``python -m evolearn.champion --setting ...``.

A weight agnostic network is scored in four settings, each over ``trials`` test trials (an
episode with environment seed ``seed + t``, or the whole test set of a dataset), reported as
mean and standard deviation over the trials:

- ``random_weights``: every connection a weight of its own, drawn from U(-2, 2) anew for each
  trial;
- ``random_shared_weight``: one shared weight drawn from U(-2, 2) for each trial;
- ``tuned_shared_weight``: the best shared weight of the grid -1.9, -1.8, ..., 1.9 (the open
  interval (-2, 2) in steps of 0.1): for an environment the best mean return over
  ``tune_trials`` tuning episodes (seeds from :data:`TUNING_SEED`, never a test seed:
  :func:`check_seeds`), for a dataset the best training-set accuracy; then tested with it;
- ``tuned_weights``: individual weights trained, starting from the tuned shared weight; for an
  environment with an evolution strategy (:func:`evolution_strategy`: antithetic Gaussian
  perturbations, centred ranks, ``es_iterations`` x ``es_population`` tuning episodes), for a
  dataset with gradient descent (Adam, cross-entropy, ``tune_epochs`` epochs over the training
  set); the paper used population-based REINFORCE for the tasks and gradient training for
  MNIST.

For a dataset also ``ensemble``: the network's outputs at the six training weight values
combined (their softmax probabilities averaged), tested once.

Random draws come from ``numpy.random.default_rng((seed, k))``, ``k`` the setting's place in
:data:`SETTINGS`, so a setting gives the same numbers whichever others run with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from evolearn.genome import Genome
from evolearn.losses import cross_entropy_numpy
from evolearn.search import es
from evolearn.search.es import ESState, OpenES
from evolearn.wann.gym import fresh_episodes, has_fast_path
from evolearn.wann.network import TRAIN_WEIGHT_VALUES, WANNNetwork
from evolearn.wann.population import swingup_returns

SETTINGS = (
    "random_weights",
    "random_shared_weight",
    "tuned_shared_weight",
    "tuned_weights",
    "ensemble",
)
#: Weights are drawn from U(-WEIGHT_LIMIT, WEIGHT_LIMIT).
WEIGHT_LIMIT = 2.0
#: The shared weights tried by ``tuned_shared_weight``: (-2, 2) in steps of 0.1.
TUNING_GRID = tuple(round(-1.9 + 0.1 * i, 1) for i in range(39))
#: Tuning episodes use environment seeds from here on (test episodes: ``seed + t``).
TUNING_SEED = 1_000_000


@dataclass(frozen=True)
class Budget:
    """How much tuning the tuned settings get."""

    tune_trials: int = 10  # episodes per grid value (tuned shared weight, environments)
    es_iterations: int = 50  # evolution strategy (tuned weights, environments)
    es_population: int = 16
    es_sigma: float = 0.1
    es_learning_rate: float = 0.05
    tune_epochs: int = 10  # gradient training (tuned weights, datasets)
    tune_lr: float = 0.01
    tune_batch_size: int = 1000


@dataclass(frozen=True)
class Result:
    """A setting's test scores (one per trial) and what was tuned."""

    setting: str
    scores: np.ndarray
    detail: str = ""


class EnvironmentTask:
    """Episodes of a run's environment (``params``: env_name, take_argmax_action, bias_input)."""

    def __init__(self, params: dict):
        self.env_name = params["env_name"]
        self.argmax = bool(params.get("take_argmax_action", False))
        self.bias_input = bool(params.get("bias_input", False))

    def returns(
        self,
        genome: Genome,
        weights: Sequence[float],
        seeds: Sequence[int],
        connection_weights: np.ndarray | None = None,
    ) -> np.ndarray:
        """``[W, T]`` returns of the episodes with each shared weight and seed."""
        if connection_weights is None and has_fast_path(
            self.env_name, take_argmax_action=self.argmax
        ):
            return swingup_returns([genome], weights, list(seeds), bias_input=self.bias_input)[0]
        return fresh_episodes(
            WANNNetwork(genome, connection_weights),
            self.env_name,
            np.asarray(weights, dtype=np.float64),
            list(seeds),
            take_argmax_action=self.argmax,
            use_torch=False,
            bias_input=self.bias_input,
        )


class DatasetTask:
    """A dataset's training and test sets (float32 inputs, int64 labels), as the networks see
    them (with a bias column for a run with ``bias_input``:
    :func:`evolearn.wann.classification.network_arrays`)."""

    #: Weight values evaluated in one pass (their activities are held at once).
    WEIGHTS_AT_ONCE = 8

    def __init__(self, x_train, y_train, x_test, y_test):
        self.x_train, self.y_train, self.x_test, self.y_test = x_train, y_train, x_test, y_test

    def accuracies(
        self,
        genome: Genome,
        weights: Sequence[float],
        split: str = "test",
        connection_weights: np.ndarray | None = None,
    ) -> np.ndarray:
        """``[W]`` accuracy with each shared weight on a split."""
        x, y = (self.x_test, self.y_test) if split == "test" else (self.x_train, self.y_train)
        network = WANNNetwork(genome, connection_weights)
        weights = np.asarray(weights, dtype=np.float64)
        correct = []
        for start in range(0, len(weights), self.WEIGHTS_AT_ONCE):  # bounded memory
            logits = network.forward_numpy(x, weights[start : start + self.WEIGHTS_AT_ONCE])
            correct.append(cross_entropy_numpy(logits.astype(np.float64), y, axis=-1)[1].sum(-1))
        return np.concatenate(correct) / len(y)


def setting_rng(seed: int, setting: str) -> np.random.Generator:
    return np.random.default_rng((int(seed), SETTINGS.index(setting)))


def random_weights(task, genome: Genome, trials: int, seed: int) -> Result:
    rng = setting_rng(seed, "random_weights")
    scores = []
    for t in range(trials):
        own = rng.uniform(-WEIGHT_LIMIT, WEIGHT_LIMIT, genome.num_connections)
        if isinstance(task, EnvironmentTask):
            scores.append(task.returns(genome, [1.0], [seed + t], own)[0, 0])
        else:
            scores.append(task.accuracies(genome, [1.0], "test", own)[0])
    return Result("random_weights", np.array(scores))


def random_shared_weight(task, genome: Genome, trials: int, seed: int) -> Result:
    rng = setting_rng(seed, "random_shared_weight")
    values = rng.uniform(-WEIGHT_LIMIT, WEIGHT_LIMIT, trials)
    if isinstance(task, EnvironmentTask):
        scores = [task.returns(genome, [w], [seed + t])[0, 0] for t, w in enumerate(values)]
    else:
        scores = task.accuracies(genome, values, "test")
    return Result("random_shared_weight", np.asarray(scores, dtype=np.float64))


def best_shared_weight(task, genome: Genome, budget: Budget) -> tuple[float, float]:
    """(the grid's best shared weight, its tuning score)."""
    if isinstance(task, EnvironmentTask):
        seeds = range(TUNING_SEED, TUNING_SEED + budget.tune_trials)
        tuning = task.returns(genome, TUNING_GRID, seeds).mean(1)
    else:
        tuning = task.accuracies(genome, TUNING_GRID, "train")
    best = int(np.argmax(tuning))
    return TUNING_GRID[best], float(tuning[best])


def tuned_shared_weight(task, genome: Genome, trials: int, seed: int, budget: Budget) -> Result:
    weight, tuning = best_shared_weight(task, genome, budget)
    if isinstance(task, EnvironmentTask):
        scores = task.returns(genome, [weight], range(seed, seed + trials))[0]
        how = f"mean return {tuning:.1f} over {budget.tune_trials} tuning episodes"
    else:
        scores = task.accuracies(genome, [weight], "test")
        how = f"training accuracy {tuning:.4f}"
    return Result("tuned_shared_weight", np.asarray(scores), f"shared weight {weight:+.1f} ({how})")


def evolution_strategy(
    task: EnvironmentTask, genome: Genome, start: np.ndarray, budget: Budget, rng
) -> np.ndarray:
    """Individual weights tuned from ``start``: each iteration, ``es_population`` / 2 Gaussian
    perturbations (standard deviation ``es_sigma``) and their mirror images are each run for one
    episode (the same tuning seed for all of them), their returns turned into centred ranks
    (-0.5 .. 0.5), and the weights moved by ``es_learning_rate`` along the rank-weighted mean
    perturbation (:mod:`evolearn.search.es`, without the standardised ranks and the decays
    that Najarro & Risi's runs add)."""
    strategy = OpenES(popsize=2 * max(1, budget.es_population // 2), standardise=False)
    state = ESState(np.array(start, dtype=np.float64), budget.es_learning_rate, budget.es_sigma)
    for iteration in range(budget.es_iterations):
        noise = es.sample_noise(strategy, len(state.mean), rng)
        seed = [TUNING_SEED + budget.tune_trials + iteration]
        returns = np.array(
            [task.returns(genome, [1.0], seed, c)[0, 0] for c in es.candidates(state, noise)]
        )
        state = es.step(strategy, state, noise, returns)
    return state.mean


def gradient_training(
    task: DatasetTask, genome: Genome, start: np.ndarray, budget: Budget, rng
) -> np.ndarray:
    """Individual weights trained from ``start`` with Adam on the cross-entropy of the training
    set, ``tune_epochs`` epochs of mini-batches in a random order."""
    import torch

    network = WANNNetwork(genome)
    weights = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([weights], lr=budget.tune_lr)
    x = torch.as_tensor(task.x_train, dtype=torch.float64)
    y = torch.as_tensor(task.y_train)
    for _ in range(budget.tune_epochs):
        order = torch.as_tensor(rng.permutation(len(x)))
        for start_index in range(0, len(x), budget.tune_batch_size):
            batch = order[start_index : start_index + budget.tune_batch_size]
            loss = torch.nn.functional.cross_entropy(
                network.forward_trainable(x[batch], weights), y[batch]
            )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return weights.detach().numpy()


def tuned_weights(task, genome: Genome, trials: int, seed: int, budget: Budget) -> Result:
    rng = setting_rng(seed, "tuned_weights")
    weight, _ = best_shared_weight(task, genome, budget)
    start = np.full(genome.num_connections, weight)
    if isinstance(task, EnvironmentTask):
        own = evolution_strategy(task, genome, start, budget, rng)
        scores = task.returns(genome, [1.0], range(seed, seed + trials), own)[0]
        episodes = 2 * max(1, budget.es_population // 2)  # mirrored pairs
        how = (
            f"evolution strategy, {budget.es_iterations} iterations x {episodes} "
            f"episodes, sigma {budget.es_sigma}, learning rate {budget.es_learning_rate}"
        )
    else:
        own = gradient_training(task, genome, start, budget, rng)
        scores = task.accuracies(genome, [1.0], "test", own)
        how = (
            f"Adam lr {budget.tune_lr}, {budget.tune_epochs} epochs, batch {budget.tune_batch_size}"
        )
    return Result("tuned_weights", np.asarray(scores), f"from shared weight {weight:+.1f}; {how}")


def ensemble(task: DatasetTask, genome: Genome, weights=TRAIN_WEIGHT_VALUES) -> Result:
    """Accuracy of the network's softmax probabilities averaged over the weight values."""
    logits = WANNNetwork(genome).forward_numpy(task.x_test, weights).astype(np.float64)
    logits -= logits.max(-1, keepdims=True)
    probabilities = np.exp(logits)
    probabilities /= probabilities.sum(-1, keepdims=True)
    predicted = probabilities.mean(0).argmax(-1)
    accuracy = float(np.mean(predicted == task.y_test))
    values = ", ".join(f"{w:g}" for w in weights)
    return Result("ensemble", np.array([accuracy]), f"softmax averaged over weights {values}")


def tuning_seeds(setting: str, budget: Budget) -> range:
    """The environment seeds of a setting's tuning episodes (none for an untuned setting):
    ``tune_trials`` episodes per grid value, then one per iteration of the evolution
    strategy."""
    if setting == "tuned_shared_weight":
        return range(TUNING_SEED, TUNING_SEED + budget.tune_trials)
    if setting == "tuned_weights":
        return range(TUNING_SEED, TUNING_SEED + budget.tune_trials + budget.es_iterations)
    return range(TUNING_SEED, TUNING_SEED)


def check_seeds(task, setting: str, trials: int, seed: int, budget: Budget = Budget()) -> None:
    """ValueError if, on an environment, the test seeds ``seed .. seed + trials - 1`` are
    negative or are among the seeds the setting tunes with (:func:`tuning_seeds`)."""
    if not isinstance(task, EnvironmentTask):
        return
    if seed < 0:
        raise ValueError(f"environment seeds are non-negative, got {seed}")
    tuning = tuning_seeds(setting, budget)
    if len(tuning) and seed < tuning.stop and seed + trials > tuning.start:
        lower = tuning.start - trials
        choose = f"at most {lower} or " if lower >= 0 else ""
        raise ValueError(
            f"the {trials} test episodes use seeds {seed}..{seed + trials - 1}, which overlap "
            f"the seeds {tuning.start}..{tuning.stop - 1} of {setting}'s tuning episodes; "
            f"choose a seed of {choose}at least {tuning.stop}"
        )


def evaluate(
    task, genome: Genome, setting: str, trials: int, seed: int, budget: Budget = Budget()
) -> Result:
    """One setting of :data:`SETTINGS` (``ensemble`` only for a dataset). ValueError if the
    test seeds overlap the setting's tuning seeds (:func:`check_seeds`)."""
    check_seeds(task, setting, trials, seed, budget)
    if setting == "random_weights":
        return random_weights(task, genome, trials, seed)
    if setting == "random_shared_weight":
        return random_shared_weight(task, genome, trials, seed)
    if setting == "tuned_shared_weight":
        return tuned_shared_weight(task, genome, trials, seed, budget)
    if setting == "tuned_weights":
        return tuned_weights(task, genome, trials, seed, budget)
    if setting == "ensemble":
        if not isinstance(task, DatasetTask):
            raise ValueError("the ensemble setting is defined for datasets only")
        return ensemble(task, genome)
    raise ValueError(f"unknown setting {setting!r}; choose one of {', '.join(SETTINGS)}")
