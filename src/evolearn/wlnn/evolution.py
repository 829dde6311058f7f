"""run-wlnn-mnist.py: evolve architectures while their weights learn (Rieke 2020, chapter 4.2).

Evolution develops the architecture of weight learning networks (outer loop) while every
network's weights are trained with a learning rule (inner loop); a network's fitness is the
reward (minus the training loss) over its ``evaluation_period``.

- ``inherit_weights: False`` (Baldwinian): a genome keeps the weights it started training from;
  a child gets fresh weights after its mutations, so only the architecture is inherited, and an
  elite starts again from its own initial weights.
- ``inherit_weights: True`` (Lamarckian): after training, a genome takes the weights it learned
  (they come back from the worker processes); a child keeps them, and a new connection gets a
  fresh weight.

All networks of a generation train on the same mini-batches (one batch order per generation,
from the stream ``(seed, generation, BATCHES)``); each network draws its feedback matrices from
its own stream ``(seed, generation, TRAIN, index)``. Each worker trains its chunk of the
population as one model (:mod:`evolearn.wlnn.population`); a network's result does not depend
on its chunk, so a run does not depend on the number of workers. The per-network reference
(:func:`evolearn.wlnn.learning.train_genome`) stays reachable (``TrainTask.fast``).
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass, replace
from functools import partial

import numpy as np
import torch

from evolearn import streams
from evolearn.data import check_fits_dataset, dataset_notes, load_dataset
from evolearn.experiment.checks import (
    check_cuda_with_scheduler,
    check_elite_and_cull,
    check_mutation_probabilities_sum,
    check_tournament_fits,
)
from evolearn.experiment.devices import select_device
from evolearn.experiment.options import EVOLUTION_OPTIONS
from evolearn.experiment.parsing import Params, ScriptSpec, parse_params
from evolearn.experiment.run import Run
from evolearn.experiment.workers import (
    ChunkResults,
    Pool,
    SharedArrays,
    each_or_failed,
    fast_or_one_by_one,
)
from evolearn.genome import (
    Genome,
    add_connection,
    add_node,
    compact_layers,
    initial_genome,
    random_weights,
    split_connection,
)
from evolearn.network_io import save_genome
from evolearn.search.generations import WORST_SCORE, run_evolution
from evolearn.search.loop import EvolutionLoop
from evolearn.search.ranking import select_objectives
from evolearn.wlnn.learning import TrainConfig, draw_batch_orders, torch_generator, train_genome
from evolearn.wlnn.network import WLNNNetwork
from evolearn.wlnn.population import evaluate_population, train_population

#: Every this many generations the champion is trained for LONG_TRAINING_EPOCHS and tested.
LONG_TRAINING_EVERY = 20
LONG_TRAINING_EPOCHS = 10
#: Probability that an initial connection is split by a hidden neuron (initial population).
P_INITIAL_SPLIT = 0.5

SPEC = ScriptSpec(
    name="run-wlnn-mnist.py",
    description=(
        "Evolve the architecture of networks (outer loop) while training their weights with a "
        "learning rule (inner loop) on an image classification dataset."
    ),
    options=EVOLUTION_OPTIONS
    + (
        "inherit_weights",
        "batch_size",
        "batch_size_eval",
        "evaluation_period",
        "learning_rule",
        "lr",
        "num_epochs",
        "optimizer",
        "train_only_outputs",
        "dataset",
        "data_dir",
    ),
    defaults={
        "num_generations": 4096,
        "population_size": 180,
        "tournament_size": 32,
        "p_add_node": 0.2,
        "p_add_connection": 0.8,
        "p_complexity_objective": 0.2,
        "num_mutations_per_generation": 5,
        "num_epochs": 5,
    },
    checks=(
        partial(check_mutation_probabilities_sum, names=("p_add_connection", "p_add_node")),
        check_tournament_fits,
        check_elite_and_cull,
        check_cuda_with_scheduler,
    ),
)


# --- genomes -------------------------------------------------------------------------------


def initial_network(params: Params, rng: np.random.Generator) -> Genome:
    """A network of the initial population (see :func:`initial_wlnn`)."""
    return initial_wlnn(
        params.num_inputs, params.num_outputs, params.p_initial_connection_enabled, rng
    )


def initial_wlnn(
    num_inputs: int, num_outputs: int, p_connection: float, rng: np.random.Generator
) -> Genome:
    """Random input-output connections (each with ``p_connection``), each split by a new hidden
    neuron with probability 0.5."""
    genome = initial_genome(num_inputs, num_outputs, p_connection, rng, with_weights=True)
    for index in range(genome.num_connections):  # split keeps the index of a->n
        if rng.random() < P_INITIAL_SPLIT:
            genome = compact_layers(split_connection(genome, index, rng))
    return genome


def mutate(
    genome: Genome,
    rng: np.random.Generator,
    *,
    p_add_node: float,
    num_mutations: int,
    inherit_weights: bool,
) -> Genome:
    """``num_mutations`` mutations (add node with ``p_add_node``, else add a connection between
    hidden layers); Baldwinian children (``inherit_weights`` False) get all weights anew."""
    for _ in range(num_mutations):
        if rng.random() < p_add_node:
            genome = compact_layers(add_node(genome, rng))
        else:
            genome = add_connection(genome, rng, only_hidden=True)
    if not inherit_weights:
        genome = genome.with_weights(random_weights(rng, genome.num_connections))
    return genome


# --- work done in the worker processes ------------------------------------------------------


@dataclass(frozen=True)
class TrainTask:
    """Train a chunk of networks on the generation's mini-batches.

    Attributes:
        genomes: the networks with their initial weights.
        entropies: each network's own random stream (feedback matrices).
        config: the training options.
        device: where to train ("cpu", "cuda").
        batch_entropy: the stream of the generation's mini-batches (the same for every chunk).
        fast: train the chunk as one model (:func:`train_population`); False: one network at
            a time (:func:`train_genome`, the reference).
    """

    genomes: list[Genome]
    entropies: list[tuple[int, ...]]
    config: TrainConfig
    device: str
    batch_entropy: tuple[int, ...]
    _: KW_ONLY
    fast: bool = True


@dataclass(frozen=True)
class EvaluateTask:
    """Loss and accuracy of a chunk of networks, as they are, on the training or test set."""

    genomes: list[Genome]
    split: str  # "train" or "test"
    batch_size: int
    device: str
    _: KW_ONLY
    fast: bool = True


def _tensors(shared: SharedArrays, split: str, device: str) -> tuple[torch.Tensor, torch.Tensor]:
    key = (split, device)
    if key not in shared.cache:
        shared.cache[key] = (
            torch.as_tensor(np.array(shared[f"x_{split}"]), device=device),
            torch.as_tensor(np.array(shared[f"y_{split}"]), device=device),
        )
    return shared.cache[key]


def generation_batch_orders(
    num_examples: int, config: TrainConfig, batch_entropy: tuple[int, ...]
) -> torch.Tensor:
    """The mini-batches ``[num_epochs, num_batches, batch_size]`` of one generation."""
    generator = torch_generator(np.random.default_rng(batch_entropy))
    return draw_batch_orders(num_examples, config.batch_size, config.num_epochs, generator)


def train_chunk(shared: SharedArrays, task: TrainTask) -> ChunkResults:
    """(reward, acc, learned weights) of each network of the chunk."""
    x, y = _tensors(shared, "train", task.device)
    orders = generation_batch_orders(len(x), task.config, task.batch_entropy)

    def network_streams() -> list[np.random.Generator]:  # fresh for each path
        return [np.random.default_rng(entropy) for entropy in task.entropies]

    def whole_chunk():
        results = train_population(task.genomes, x, y, task.config, network_streams(), orders)
        return ((r.reward, r.acc, r.learned_weights) for r in results)

    def one(item: tuple[Genome, np.random.Generator]) -> tuple[float, float, np.ndarray]:
        genome, rng = item
        r = train_genome(genome, x, y, task.config, rng, orders)
        return (r.reward, r.acc, r.learned_weights)

    def failed(item: tuple[Genome, np.random.Generator]) -> tuple[float, float, np.ndarray]:
        return (float("nan"), float("nan"), item[0].weights)  # weights unchanged

    return fast_or_one_by_one(
        whole_chunk if task.fast else None,
        lambda: each_or_failed(one, zip(task.genomes, network_streams(), strict=True), failed),
    )


def evaluate_chunk(shared: SharedArrays, task: EvaluateTask) -> list[tuple[float, float]]:
    """(loss, acc) of each network of the chunk on a whole set, without training."""
    x, y = _tensors(shared, task.split, task.device)
    if task.fast:
        losses, accs = evaluate_population(task.genomes, x, y, task.batch_size)
        return list(zip(losses.tolist(), accs.tolist(), strict=True))
    return [WLNNNetwork(g, x.device).evaluate(x, y, task.batch_size) for g in task.genomes]


def train_generation(
    pool: Pool,
    genomes: list[Genome],
    config: TrainConfig,
    seed: int,
    generation: int,
    *,
    device: str = "cpu",
    fast: bool = True,
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Train a population for one generation in the pool's workers, one contiguous chunk per
    worker, on the pool's shared ``x_train`` / ``y_train``.

    Returns rewards ``[P]`` (maximised), accuracies ``[P]`` and each network's learned weights.
    ``fast`` picks the population-wide fast path or the per-network reference; both train on
    the same mini-batches with the same feedback matrices.
    """
    batch_entropy = streams.stream_entropy(seed, generation, streams.BATCHES)

    def task(chunk_genomes: list[Genome], chunk: range) -> TrainTask:
        entropies = [streams.stream_entropy(seed, generation, streams.TRAIN, i) for i in chunk]
        return TrainTask(chunk_genomes, entropies, config, device, batch_entropy, fast=fast)

    results = pool.map_population(train_chunk, genomes, task)
    rewards = np.array([r[0] for r in results])
    accs = np.array([r[1] for r in results])
    return rewards, accs, [r[2] for r in results]


# --- the run -------------------------------------------------------------------------------


class WLNNEvolution(EvolutionLoop):
    """The generation loop of run-wlnn-mnist.py."""

    BEST_KEYS = ("reward", "acc")
    CHAMPION_KEYS = ("reward", "acc")

    def __init__(self, params: Params, run: Run, pool: Pool, device: torch.device):
        super().__init__(params, run, pool)
        self.device = str(device)
        self.config = TrainConfig.from_params(params)
        self._learned: list[np.ndarray] = []

    def champion_test_keys(self) -> tuple[str, ...]:
        return ("long_training_reward", "long_training_acc", "test_reward", "test_acc")

    def initial_population(self) -> list[Genome]:
        seed = self.params.seed
        return [
            initial_network(self.params, streams.stream(seed, 0, streams.INIT, i))
            for i in range(self.params.population_size)
        ]

    def start(self, population: list[Genome]) -> None:
        """Generation 0: the untrained initial population on the training set."""
        with self.interrupts.interruptible():
            losses, accs = self.score_population(population, "train")
        best = int(np.argmax(-losses))
        self.set_champion(population[best], 0, best, {"reward": -losses[best], "acc": accs[best]})
        self.run.mark_started()
        self.report_champion(0, {})
        self.run.log(
            f"Initial population: best untrained reward {-losses[best]:.4f}, acc {accs[best]:.4f}"
        )

    def train_population(self, genomes: list[Genome], generation: int):
        """Rewards [P], accuracies [P] and learned weights of the population."""
        return train_generation(
            self.pool, genomes, self.config, self.params.seed, generation, device=self.device
        )

    def score_population(self, genomes: list[Genome], split: str) -> tuple[np.ndarray, np.ndarray]:
        """Losses [P] and accuracies [P] of the networks as they are, on a whole set."""
        batch_size = self.params.batch_size_eval
        results = self.pool.map_population(
            evaluate_chunk,
            genomes,
            lambda chunk_genomes, _: EvaluateTask(chunk_genomes, split, batch_size, self.device),
        )
        return np.array([r[0] for r in results]), np.array([r[1] for r in results])

    def evaluate(self, population: list[Genome], generation: int) -> dict[str, np.ndarray]:
        rewards, accs, self._learned = self.train_population(population, generation)
        return {"reward": rewards, "acc": accs}

    def after_evaluation(self, population, scores) -> list[Genome]:
        if not self.params.inherit_weights:
            return population
        # Lamarckian: each network goes on with the weights it learned.
        return [g.with_weights(w) for g, w in zip(population, self._learned, strict=True)]

    def objectives(self, population, scores, rng) -> np.ndarray:
        connections = np.array([g.num_connections for g in population])
        return select_objectives(
            scores["reward"], scores["reward"], connections, self.params.p_complexity_objective, rng
        )

    def mutate(self, genome: Genome, rng: np.random.Generator) -> Genome:
        return mutate(
            genome,
            rng,
            p_add_node=self.params.p_add_node,
            num_mutations=self.params.num_mutations_per_generation,
            inherit_weights=self.params.inherit_weights,
        )

    def due_for_test(self, generation: int) -> bool:
        return generation % LONG_TRAINING_EVERY == 0 or generation == self.params.num_generations

    def champion_test_scores(self, generation: int) -> dict[str, float]:
        """Train the champion for LONG_TRAINING_EPOCHS and test it on the test set."""
        champion = self.champion
        config = replace(self.config, num_epochs=LONG_TRAINING_EPOCHS)
        shared = self.pool.shared
        x, y = _tensors(shared, "train", self.device)
        rng = streams.stream(self.params.seed, generation, streams.CHAMPION)
        result = train_genome(champion.genome, x, y, config, rng)
        trained = champion.genome.with_weights(result.learned_weights)
        x_test, y_test = _tensors(shared, "test", self.device)
        test_loss, test_acc = WLNNNetwork(trained, self.device).evaluate(
            x_test, y_test, self.params.batch_size_eval
        )
        scores = {
            "long_training_reward": result.reward,
            "long_training_acc": result.acc,
            "test_reward": -test_loss,
            "test_acc": test_acc,
        }
        save_genome(
            trained,
            self.run.path("champion_trained.json", atomic=True),
            info={**champion.info(), "tested_at_generation": generation, **scores},
        )
        return scores

    def extra_reporting(self, population, scores, generation: int) -> None:
        # Networks whose training failed carry the loop's worst score, not an accuracy.
        accs = scores["acc"][scores["acc"] > WORST_SCORE]
        if len(accs):
            self.run.histogram("population/acc", accs, generation)
        connections = [g.num_connections for g in population]
        self.run.histogram("population/connections", connections, generation)


def main(argv: list[str]) -> None:
    params = parse_params(SPEC, argv)
    dataset = load_dataset(params.dataset, params.data_dir)
    check_fits_dataset(params, dataset)
    device, device_note = select_device(params.use_cuda)
    run_evolution(
        params,
        lambda run, pool: WLNNEvolution(params, run, pool, device),
        dataset.arrays(),
        [device_note, f"Device: {device}", *dataset_notes(dataset, params.data_dir)],
    )
