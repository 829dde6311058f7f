"""The long training of the analysis: saved networks (learning curves) and random networks
(the random-architecture control), trained as the run trains its champion.

A run tests its champion every 20 generations after a *long training*: 10 epochs
(:data:`~evolearn.wlnn.evolution.LONG_TRAINING_EPOCHS`) with the run's learning rule,
optimizer, learning rate and batch size, on the whole training set in a random order, then
the test set. :func:`long_training` does the same and also tests after every epoch (testing
changes nothing in the training, so the last epoch's accuracy is the one the run would
report).

Random networks of the control are built as evolution starts a network: the initial network
(random input-output connections, the add-node pass splitting each with probability 0.5),
then random mutations with the run's probabilities (add node with ``p_add_node``, else add a
connection) until the network has the asked number of connections; fresh random weights, as a
Baldwinian child gets. An initial network already larger than the count asked is drawn again
(from the same stream): the random networks of a count are the starts evolution draws that
are no larger, grown to it, as evolution's small networks are (and never larger than asked).
A count below what the run's networks start with (none of :data:`MAX_STARTS` starts fits) is
refused.

Streams (:mod:`evolearn.streams`): random network ``i`` of ``c`` connections is built from
``(seed, c, RANDOM_NETWORK, i)`` and trained with ``(seed, c, RANDOM_TRAIN, i)``; saved network
``i`` of generation ``g`` is retrained with ``(seed, g, RETRAIN, i)``. The results do not
depend on the number of workers.

Trained one at a time (the reference, exactly the champion's long training), a network of MNIST
takes seconds per epoch; ``together`` trains the random networks of one count as one model on
shared mini-batches (``(seed, c, RANDOM_TRAIN)``), as evolution trains a generation, about 15
times faster on MNIST and the same, network for network, as training each alone on those
batches (up to float32 summation order).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch

from evolearn import streams
from evolearn.errors import ParamError, UserError
from evolearn.experiment.workers import Pool, SharedArrays
from evolearn.genome import Genome, random_weights
from evolearn.wlnn.evolution import LONG_TRAINING_EPOCHS, initial_wlnn, mutate
from evolearn.wlnn.learning import TrainConfig, Trainer, draw_batch_orders, torch_generator
from evolearn.wlnn.network import WLNNNetwork
from evolearn.wlnn.population import evaluate_population, train_population

#: A random network that gained no connection in this many mutations in a row cannot grow.
MAX_FRUITLESS_MUTATIONS = 10_000
#: Initial networks a random network draws before its count is refused as below the run's.
MAX_STARTS = 100


def fewest_start_connections(params: dict) -> int:
    """The fewest connections an initial network of ``params`` can have: every input-output
    connection, none split, when each is enabled with probability 1; else none."""
    if params["p_initial_connection_enabled"] >= 1:
        return params["num_inputs"] * params["num_outputs"]
    return 0


def random_network(
    params: dict, min_connections: int, rng: np.random.Generator, who: str = "the run"
) -> Genome:
    """A random WLNN of ``min_connections`` connections, grown as described above with the
    run's ``params`` (num_inputs, num_outputs, p_initial_connection_enabled, p_add_node); a
    ParamError naming ``who`` when the run's networks start larger than that."""
    starts = []
    for _ in range(MAX_STARTS):
        genome = initial_wlnn(
            params["num_inputs"], params["num_outputs"], params["p_initial_connection_enabled"], rng
        )
        if genome.num_connections <= min_connections:
            break
        starts.append(genome.num_connections)
    else:
        # a count that about one start in ten fits: each network then finds one surely
        smallest = int(np.ceil(np.quantile(starts, 0.1)))
        raise ParamError(
            f"--connections {min_connections} is too few for {who}: its random networks start "
            f"larger (none of {MAX_STARTS} initial networks drawn had at most {min_connections} "
            f"connections: they had {min(starts)} to {max(starts)}, and never fewer than "
            f"{fewest_start_connections(params)}); the smallest count possible is about "
            f"{smallest}: choose counts of at least that"
        )
    fruitless = 0
    while genome.num_connections < min_connections:
        before = genome.num_connections
        genome = mutate(
            genome, rng, p_add_node=params["p_add_node"], num_mutations=1, inherit_weights=True
        )
        fruitless = 0 if genome.num_connections > before else fruitless + 1
        if fruitless >= MAX_FRUITLESS_MUTATIONS:
            raise UserError(
                f"a random network stopped growing at {genome.num_connections} connections, "
                f"below the {min_connections} asked for: choose fewer --connections"
            )
    return genome.with_weights(random_weights(rng, genome.num_connections))


@dataclass(frozen=True)
class RetrainTask:
    """Train one network for ``config.num_epochs`` epochs, testing after each."""

    genome: Genome
    config: TrainConfig
    entropy: tuple[int, ...]
    batch_size_eval: int


def _tensors(shared: SharedArrays) -> dict[str, torch.Tensor]:
    """The worker's dataset as tensors, made once per worker."""
    if "tensors" not in shared.cache:
        shared.cache["tensors"] = {k: torch.as_tensor(np.array(v)) for k, v in shared.items()}
    return shared.cache["tensors"]


def retrain(shared: SharedArrays, task: RetrainTask) -> list[float]:
    """Test accuracy after each epoch (runs in a worker)."""
    t = _tensors(shared)
    return long_training(
        task.genome,
        task.config,
        t["x_train"],
        t["y_train"],
        t["x_test"],
        t["y_test"],
        np.random.default_rng(task.entropy),
        task.batch_size_eval,
    )


def long_training(
    genome: Genome,
    config: TrainConfig,
    x: torch.Tensor,
    y: torch.Tensor,
    x_test: torch.Tensor,
    y_test: torch.Tensor,
    rng: np.random.Generator,
    batch_size_eval: int,
) -> list[float]:
    """Train for ``config.num_epochs`` epochs as :func:`~evolearn.wlnn.learning.train_genome`
    does (same stream use, so the same weights) and return the test accuracy after each."""
    model = WLNNNetwork(genome, x.device)
    trainer = Trainer(model, config, rng)
    accuracies = []
    for _ in range(config.num_epochs):
        trainer.train_epoch(x, y)
        accuracies.append(model.evaluate(x_test, y_test, batch_size_eval)[1])
    return accuracies


def long_training_config(params: dict, epochs: int = LONG_TRAINING_EPOCHS) -> TrainConfig:
    """The run's training options with ``epochs`` epochs."""
    return replace(TrainConfig.from_params(params), num_epochs=epochs)


@dataclass(frozen=True)
class TogetherTask:
    """Train a chunk of networks as one model on shared mini-batches, then test each."""

    genomes: list[Genome]
    config: TrainConfig
    entropies: list[tuple[int, ...]]
    batch_entropy: tuple[int, ...]
    batch_size_eval: int


def train_together(shared: SharedArrays, task: TogetherTask) -> list[float]:
    """Test accuracy of each network after training (runs in a worker)."""
    t = _tensors(shared)
    x, y = t["x_train"], t["y_train"]
    generator = torch_generator(np.random.default_rng(task.batch_entropy))
    orders = draw_batch_orders(len(x), task.config.batch_size, task.config.num_epochs, generator)
    rngs = [np.random.default_rng(entropy) for entropy in task.entropies]
    results = train_population(task.genomes, x, y, task.config, rngs, orders)
    trained = [
        g.with_weights(r.learned_weights) for g, r in zip(task.genomes, results, strict=True)
    ]
    _, accuracies = evaluate_population(trained, t["x_test"], t["y_test"], task.batch_size_eval)
    return accuracies.tolist()


def random_networks(
    params: dict, connections: Sequence[int], num_networks: int, seed: int, who: str = "the run"
) -> dict[int, list[Genome]]:
    """``num_networks`` random networks of each count of ``connections`` (their streams
    ``(seed, count, RANDOM_NETWORK, index)``); a ParamError naming ``who`` for a count below
    the size of the run's networks."""
    return {
        target: [
            random_network(
                params, target, streams.stream(seed, target, streams.RANDOM_NETWORK, i), who
            )
            for i in range(num_networks)
        ]
        for target in connections
    }


def train_random_networks(
    pool: Pool,
    params: dict,
    connections: Sequence[int],
    num_networks: int,
    seed: int,
    epochs: int = LONG_TRAINING_EPOCHS,
    *,
    together: bool = False,
    networks: dict[int, list[Genome]] | None = None,
) -> list[dict]:
    """For each count of ``connections``, ``num_networks`` random networks, trained and
    tested: one dict per network (target, index, connections, neurons, layers, test_acc).
    ``networks``: those of :func:`random_networks` (built here when not given).

    ``together``: the networks of one count train as one model on the same mini-batches (the
    population path evolution trains a generation with; the batches from the stream
    ``(seed, count, RANDOM_TRAIN)``, the feedback matrices from each network's own), much faster
    on MNIST; otherwise each alone in its own random order, exactly as the run's champion.
    """
    config = long_training_config(params, epochs)
    if networks is None:
        networks = random_networks(params, connections, num_networks, seed)
    rows, tasks = [], []
    for target in connections:
        genomes = networks[target]
        entropies = [
            streams.stream_entropy(seed, target, streams.RANDOM_TRAIN, i)
            for i in range(num_networks)
        ]
        rows += [
            {
                "target_connections": target,
                "index": index,
                "connections": genome.num_connections,
                "neurons": genome.num_neurons,
                "layers": genome.num_layers,
            }
            for index, genome in enumerate(genomes)
        ]
        eval_size = params["batch_size_eval"]
        if together:
            batch_entropy = streams.stream_entropy(seed, target, streams.RANDOM_TRAIN)
            tasks += [
                TogetherTask(
                    [genomes[i] for i in chunk],
                    config,
                    [entropies[i] for i in chunk],
                    batch_entropy,
                    eval_size,
                )
                for chunk in pool.split(num_networks)
                if len(chunk)
            ]
        else:
            tasks += [
                RetrainTask(g, config, e, eval_size)
                for g, e in zip(genomes, entropies, strict=True)
            ]
    if together:
        accuracies = [acc for chunk in pool.map(train_together, tasks) for acc in chunk]
    else:
        accuracies = [curve[-1] for curve in pool.map(retrain, tasks)]
    for row, accuracy in zip(rows, accuracies, strict=True):
        row["test_acc"] = accuracy
    return rows


def learning_curves(
    pool: Pool,
    params: dict,
    networks: Sequence[tuple[int, int, Genome]],
    seed: int,
    epochs: int = LONG_TRAINING_EPOCHS,
) -> list[list[float]]:
    """Test accuracy after each epoch of each ``(generation, index, genome)``."""
    config = long_training_config(params, epochs)
    tasks = [
        RetrainTask(
            genome,
            config,
            streams.stream_entropy(seed, generation, streams.RETRAIN, index),
            params["batch_size_eval"],
        )
        for generation, index, genome in networks
    ]
    return pool.map(retrain, tasks)
