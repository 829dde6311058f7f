"""Random networks of the control, and the long training of the analysis."""

import json
import re

import numpy as np
import pytest
import torch
import yaml

from evolearn import streams
from evolearn.analysis.retraining import (
    long_training,
    long_training_config,
    random_network,
    random_networks,
    train_random_networks,
)
from evolearn.data import load_dataset
from evolearn.errors import ParamError
from evolearn.experiment.workers import WorkerPool
from evolearn.network_io import load_genome
from evolearn.wlnn.evolution import initial_wlnn

PARAMS = {
    "num_inputs": 64,
    "num_outputs": 10,
    "p_initial_connection_enabled": 0.05,
    "p_add_node": 0.2,
    "learning_rule": "backprop",
    "optimizer": "adam",
    "lr": 0.01,
    "batch_size": 32,
    "num_epochs": 3,
    "train_only_outputs": False,
    "evaluation_period": "last_epoch",
    "batch_size_eval": 1000,
}


@pytest.mark.parametrize("target", [80, 100, 250])
def test_random_networks_grow_to_exactly_the_asked_connections(target):
    for index in range(3):
        genome = random_network(PARAMS, target, streams.stream(0, target, 8, index))
        # each mutation adds one connection: growth stops at the count asked for
        assert genome.num_connections == target
        assert genome.num_inputs == 64 and genome.num_outputs == 10
        assert genome.weights is not None and len(genome.weights) == target


def test_random_networks_start_as_evolution_starts_them():
    # a target of the initial network's size: the initial network itself, grown by nothing
    rng_a, rng_b = np.random.default_rng(3), np.random.default_rng(3)
    start = initial_wlnn(64, 10, 0.05, rng_a)
    genome = random_network(PARAMS, start.num_connections, rng_b)
    assert genome.connections.tolist() == start.connections.tolist()
    assert genome.layer.tolist() == start.layer.tolist()
    assert genome.num_hidden > 0  # the add-node pass split some connections


#: digits networks start with every input-output connection, each split with probability 0.5
DIGITS = {**PARAMS, "p_initial_connection_enabled": 1.0, "p_add_node": 0.5}
#: the same, smaller: 64 connections, each split with probability 0.5
SMALL = {**DIGITS, "num_inputs": 16, "num_outputs": 4}


def test_a_random_network_is_never_larger_than_asked_when_its_start_is():
    # digits networks start with about 960 connections (924 to 997 in 200 draws): those that
    # start above 955 are drawn again, as the small starts evolution selects
    for index in range(6):
        rng = streams.stream(0, 955, streams.RANDOM_NETWORK, index)
        assert random_network(DIGITS, 955, rng).num_connections == 955


def test_a_count_below_the_runs_starts_is_refused_with_the_smallest_count_possible():
    for target in (50, 70):  # below the 64 of every start; below nearly every start
        with pytest.raises(ParamError) as refused:
            random_network(SMALL, target, np.random.default_rng(0), who="run out/bp")
        message = str(refused.value)
        assert message.startswith(f"--connections {target} is too few for run out/bp: ")
        assert "never fewer than 64" in message
        smallest = int(re.search(r"the smallest count possible is about (\d+)", message)[1])
        assert 70 < smallest < 128
    # and that count is one the networks can have
    networks = random_networks(SMALL, [smallest], 10, seed=0)
    assert [g.num_connections for g in networks[smallest]] == [smallest] * 10


def test_the_same_seed_gives_the_same_random_network_and_another_index_another():
    def build(index):
        return random_network(PARAMS, 120, streams.stream(7, 120, streams.RANDOM_NETWORK, index))

    assert build(0) == build(0)
    assert build(0) != build(1)


def test_mutations_follow_the_runs_add_node_probability():
    only_connections = random_network({**PARAMS, "p_add_node": 0.0}, 200, np.random.default_rng(1))
    only_nodes = random_network({**PARAMS, "p_add_node": 1.0}, 200, np.random.default_rng(1))
    start = initial_wlnn(64, 10, 0.05, np.random.default_rng(1))
    assert only_connections.num_hidden == start.num_hidden
    assert only_nodes.num_hidden == start.num_hidden + (200 - start.num_connections)


@pytest.mark.slow
def test_long_training_gives_the_runs_own_champion_test(tiny_runs):
    """Retraining the champion with the run's stream reproduces the test the run logged."""
    run = tiny_runs["bp"]
    params = yaml.safe_load((run / "params.yaml").read_text())
    tested = json.loads((run / "champion_trained.json").read_text())["info"]
    generation = tested["tested_at_generation"]
    dataset = load_dataset("digits")
    tensors = [torch.as_tensor(a) for a in dataset.arrays().values()]
    accuracies = long_training(
        load_genome(run / "champion.json"),
        long_training_config(params),
        *tensors,
        streams.stream(params["seed"], generation, streams.CHAMPION),
        params["batch_size_eval"],
    )
    assert len(accuracies) == 10
    assert accuracies[-1] == tested["test_acc"]
    assert len(set(accuracies)) > 1  # tested after every epoch, not once


@pytest.mark.slow
def test_the_control_does_not_depend_on_the_number_of_workers():
    dataset = load_dataset("digits")
    results = []
    for workers in (1, 2):
        with WorkerPool(workers, dataset.arrays()) as pool:
            results.append(train_random_networks(pool, PARAMS, [80, 100], 2, seed=4, epochs=1))
    assert results[0] == results[1]
    assert [r["connections"] for r in results[0]] == [80, 80, 100, 100]
    assert all(0.0 < r["test_acc"] <= 1.0 for r in results[0])


@pytest.mark.slow
def test_random_networks_trained_together_equal_each_trained_alone_on_the_same_batches():
    from evolearn.experiment.cluster import DaskPool
    from evolearn.wlnn.learning import draw_batch_orders, torch_generator, train_genome
    from evolearn.wlnn.network import WLNNNetwork

    dataset = load_dataset("digits")
    results = []
    for pool in (
        WorkerPool(1, dataset.arrays()),
        WorkerPool(2, dataset.arrays()),
        DaskPool("local:3", dataset.arrays()),  # three chunks of one network each
    ):
        with pool:
            results.append(
                train_random_networks(pool, PARAMS, [90], 3, seed=6, epochs=2, together=True)
            )
    assert results[0] == results[1] == results[2]  # whatever the workers
    # the reference: each network alone, trained on the count's shared batches
    x, y = torch.as_tensor(dataset.x_train), torch.as_tensor(dataset.y_train)
    config = long_training_config(PARAMS, 2)
    batches = np.random.default_rng(streams.stream_entropy(6, 90, streams.RANDOM_TRAIN))
    orders = draw_batch_orders(len(x), config.batch_size, 2, torch_generator(batches))
    for row in results[0]:
        index = row["index"]
        genome = random_network(PARAMS, 90, streams.stream(6, 90, streams.RANDOM_NETWORK, index))
        rng = streams.stream(6, 90, streams.RANDOM_TRAIN, index)
        trained = genome.with_weights(
            train_genome(genome, x, y, config, rng, orders).learned_weights
        )
        _, acc = WLNNNetwork(trained).evaluate(
            torch.as_tensor(dataset.x_test), torch.as_tensor(dataset.y_test), 1000
        )
        assert row["test_acc"] == pytest.approx(acc, abs=1 / len(dataset.y_test) + 1e-12)
