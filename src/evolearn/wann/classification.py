"""run-wann-classification.py: weight agnostic networks on image classification (Gaier & Ha 2019).

Each generation, every network is judged on one random batch of ``batch_size`` training
samples (drawn with replacement, the same for every network) with each train weight value:
cross-entropy loss and accuracy. mean reward = minus the mean loss over weight values, max reward
= minus the lowest loss, mean acc, acc at max reward = the accuracy at the weight value of the
lowest loss (not the best accuracy; runs before this name wrote it as ``max_acc``). The
generation's best network (by mean reward) that beats the champion is evaluated again on the
whole training set, and becomes champion if it still beats it. Every ``test_every`` generations
the champion is evaluated on the test set with the train weight values (``test_*``) and with ten
values evenly spaced in [-2, 2] (``test10_*``).
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass

import numpy as np

from evolearn import streams
from evolearn.data import Dataset, check_fits_dataset, dataset_notes, load_dataset
from evolearn.experiment.devices import select_device
from evolearn.experiment.parsing import ScriptSpec, parse_params
from evolearn.experiment.run import Run
from evolearn.experiment.workers import (
    ChunkResults,
    Pool,
    SharedArrays,
    each_or_failed,
    fast_or_one_by_one,
    nan_scores,
)
from evolearn.genome import Genome
from evolearn.losses import cross_entropy_numpy, cross_entropy_torch
from evolearn.search.generations import run_evolution
from evolearn.wann.network import TRAIN_WEIGHT_VALUES, WANNNetwork, with_bias
from evolearn.wann.population import evaluate_classification
from evolearn.wann.search import (
    WANN_CHECKS,
    WANN_OPTIONS,
    WANNEvolution,
    weight_scores,
)

#: Ten weight values evenly spaced in [-2, 2] for the test-set evaluation.
TEST_WEIGHT_VALUES = tuple(np.linspace(-2, 2, 10).tolist())
#: Samples per forward pass when a whole set is evaluated (bounds the memory of a pass).
SAMPLES_PER_PASS = 10_000

SPEC = ScriptSpec(
    name="run-wann-classification.py",
    description="Evolve weight agnostic neural networks on an image classification dataset.",
    options=WANN_OPTIONS + ("batch_size", "dataset", "data_dir"),
    defaults={"batch_size": 1000, "test_every": 20},
    checks=WANN_CHECKS,
)


@dataclass(frozen=True)
class ClassifyTask:
    """Loss and accuracy per weight value of a chunk of networks on some samples.

    ``fast``: the whole chunk at once (:func:`evolearn.wann.population.evaluate_classification`);
    False: network by network with :class:`~evolearn.wann.network.WANNNetwork` (the reference).
    """

    genomes: list[Genome]
    split: str  # "train" or "test"
    indices: np.ndarray | None  # the samples; None: the whole set
    weights: tuple[float, ...]
    _: KW_ONLY
    use_torch: bool
    device: str
    fast: bool = True


def classify(
    network: WANNNetwork, x: np.ndarray, y: np.ndarray, weights, *, use_torch: bool, device: str
) -> tuple[np.ndarray, np.ndarray]:
    """Summed cross-entropy loss ``[W]`` and number of correct answers ``[W]`` on (x, y), one
    network at a time (the reference of the population's pass): the network's pass in the
    dtype of ``x``, the loss of its outputs in float64."""
    if use_torch:
        import torch

        xt = torch.as_tensor(x, device=device)
        logits = network.forward_torch(xt, torch.tensor(weights, dtype=xt.dtype, device=device))
        loss, correct = cross_entropy_torch(logits.double(), torch.as_tensor(y, device=device), -1)
        loss, correct = loss.cpu().numpy(), correct.cpu().numpy()
    else:
        logits = network.forward_numpy(x, weights).astype(np.float64)  # [W, S, O]
        loss, correct = cross_entropy_numpy(logits, y, axis=-1)
    return loss.sum(-1), correct.sum(-1)


def classify_chunk(shared: SharedArrays, task: ClassifyTask) -> ChunkResults:
    """Mean loss ``[W]`` and accuracy ``[W]`` of each network of the chunk.

    A network's numbers do not depend on the other networks of its chunk (fast path
    included), so they do not depend on the number of workers.
    """
    x, y = shared[f"x_{task.split}"], shared[f"y_{task.split}"]
    if task.indices is not None:
        x, y = x[task.indices], y[task.indices]

    def whole_chunk():
        loss, acc = evaluate_classification(
            task.genomes, x, y, task.weights, use_torch=task.use_torch, device=task.device
        )
        return zip(loss, acc, strict=True)

    def one(genome: Genome) -> np.ndarray:
        compiled = WANNNetwork(genome)
        loss = np.zeros(len(task.weights))
        correct = np.zeros(len(task.weights))
        for start in range(0, len(x), SAMPLES_PER_PASS):
            part = slice(start, start + SAMPLES_PER_PASS)
            l, c = classify(
                compiled,
                x[part],
                y[part],
                task.weights,
                use_torch=task.use_torch,
                device=task.device,
            )
            loss += l
            correct += c
        return np.stack([loss / len(x), correct / len(x)])

    return fast_or_one_by_one(
        whole_chunk if task.fast else None,
        lambda: (
            tuple(r) for r in each_or_failed(one, task.genomes, nan_scores((2, len(task.weights))))
        ),
    )


class WANNClassification(WANNEvolution):
    BEST_KEYS = ("mean_reward", "mean_acc", "max_reward", "acc_at_max_reward")
    CHAMPION_KEYS = ("mean_reward", "mean_acc", "max_reward", "acc_at_max_reward")

    def __init__(self, params, run: Run, pool: Pool, device):
        super().__init__(params, run, pool)
        self.device = str(device)
        self.num_train = len(pool.shared["y_train"])

    def champion_test_keys(self) -> tuple[str, ...]:
        return tuple(
            f"{prefix}_{name}" for prefix in ("test", "test10") for name in self.CHAMPION_KEYS
        )

    def _task(self, genomes, split, indices, weights=TRAIN_WEIGHT_VALUES) -> ClassifyTask:
        return ClassifyTask(
            genomes, split, indices, weights, use_torch=self.params.use_torch, device=self.device
        )

    def _scores(self, results) -> dict[str, np.ndarray]:
        losses = np.array([r[0] for r in results])
        accs = np.array([r[1] for r in results])
        return weight_scores(-losses, accs)

    def evaluate(self, population: list[Genome], generation: int) -> dict[str, np.ndarray]:
        rng = streams.stream(self.params.seed, generation, streams.EVALUATE)
        indices = rng.integers(0, self.num_train, self.params.batch_size)
        results = self.pool.map_population(
            classify_chunk, population, lambda genomes, _: self._task(genomes, "train", indices)
        )
        return self._scores(results)

    def evaluate_one(self, genome: Genome, split: str, weights=TRAIN_WEIGHT_VALUES) -> dict:
        results = classify_chunk(self.pool.shared, self._task([genome], split, None, weights))
        return {k: float(v[0]) for k, v in self._scores(results).items()}

    def champion_candidate(self, genome, scores, generation):
        """The candidate's scores on the whole training set."""
        return self.evaluate_one(genome, "train")

    def champion_test_scores(self, generation: int) -> dict[str, float]:
        genome = self.champion.genome
        tested = {f"test_{k}": v for k, v in self.evaluate_one(genome, "test").items()}
        ten = self.evaluate_one(genome, "test", TEST_WEIGHT_VALUES)
        tested.update({f"test10_{k}": v for k, v in ten.items()})
        return tested


def network_arrays(dataset: Dataset, bias_input: bool) -> dict[str, np.ndarray]:
    """The dataset's arrays as the networks see them: with ``bias_input``, each sample's inputs
    with a first value 1 for the bias neuron (:func:`~evolearn.wann.network.with_bias`)."""
    arrays = dataset.arrays()
    if bias_input:
        for key in ("x_train", "x_test"):
            arrays[key] = with_bias(arrays[key])
    return arrays


def main(argv: list[str]) -> None:
    params = parse_params(SPEC, argv)
    dataset = load_dataset(params.dataset, params.data_dir)
    check_fits_dataset(params, dataset)
    if params.use_torch:
        device, device_note = select_device(params.use_cuda)
    else:  # numpy: torch is not even imported
        device, device_note = "cpu", None
        if params.use_cuda:
            device_note = "use_cuda needs use_torch: evaluating with numpy on the CPU"
    backend = f"torch on {device}" if params.use_torch else "numpy"
    run_evolution(
        params,
        lambda run, pool: WANNClassification(params, run, pool, device),
        network_arrays(dataset, params.bias_input),
        [
            *dataset_notes(dataset, params.data_dir),
            device_note,
            f"Forward passes: {backend}, each worker's share of the population at once",
        ],
    )
